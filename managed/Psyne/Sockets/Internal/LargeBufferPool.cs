using System.Buffers;
using System.Numerics;

namespace Psyne.Sockets.Internal;

/// <summary>
/// Buffers for large frames, kept by one queue: rented by its producer, returned by its consumer
/// (another thread). <see cref="ArrayPool{T}.Shared"/> keeps only a few arrays of a size per core
/// and drops the rest, so a queue holding dozens of 64 KiB frames would allocate in steady state;
/// this pool keeps what its own queue can hold in flight. Sizes are powers of two.
/// </summary>
internal sealed class LargeBufferPool
{
    private const int MaxKeptPerSize = 64;
    private const int MaxKeptBytes = 64 << 20;

    private readonly Lock _gate = new();
    private readonly Stack<byte[]>?[] _bySize = new Stack<byte[]>?[31];
    private long _keptBytes;

    /// <summary>An array of at least <paramref name="length"/> bytes (its length a power of two).</summary>
    public byte[] Rent(int length)
    {
        int bucket = Bucket(length);
        lock (_gate)
        {
            if (_bySize[bucket] is { Count: > 0 } stack)
            {
                byte[] array = stack.Pop();
                _keptBytes -= array.Length;
                return array;
            }
        }
        return bucket < 30 ? GC.AllocateUninitializedArray<byte>(1 << bucket) : GC.AllocateUninitializedArray<byte>(length);
    }

    /// <summary>Takes an array back for reuse (beyond what is worth keeping, the GC has it).</summary>
    public void Return(byte[] array)
    {
        if (!BitOperations.IsPow2(array.Length))
            return;
        int bucket = BitOperations.Log2((uint)array.Length);
        lock (_gate)
        {
            Stack<byte[]> stack = _bySize[bucket] ??= new Stack<byte[]>();
            if (stack.Count >= MaxKeptPerSize || _keptBytes + array.Length > MaxKeptBytes)
                return;
            stack.Push(array);
            _keptBytes += array.Length;
        }
    }

    private static int Bucket(int length) => length <= 1 ? 0 : Math.Min(30, BitOperations.Log2((uint)(length - 1)) + 1);
}
