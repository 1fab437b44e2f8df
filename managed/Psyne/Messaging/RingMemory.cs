using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// The memory of an SPSC channel's ring (an inproc heap block, or an ipc handle's whole mapping),
/// taken from libpsyne (<c>psyne_channel_region_take</c>) and freed by the garbage collector's
/// finalizer once nothing can reach it and its handle is closed.
/// </summary>
/// <remarks>
/// The managed SPSC data path touches only this memory, so it need not
/// tell <see cref="ChannelCore.CloseChannel"/> when it is inside a call: closing frees the native
/// handle at once, and the ring bytes live as long as the <see cref="ChannelCore"/> that holds
/// them (each fast path keeps its core alive to its last access). Marking each call in and out
/// cost two stores per call, four per message on each side, and on two cores the producer's
/// stores queue behind the cache misses of the ring's lines: docs/architecture.md, "Inproc fast
/// paths without in-flight marks". The size is reported as memory pressure so that a program that
/// creates and drops large channels prompts collections.
/// </remarks>
internal sealed unsafe class RingMemory
{
    private static long s_liveBytes;
    private psyne_allocation _allocation;
    private readonly SafeHandle _handle;

    private RingMemory(psyne_allocation allocation, SafeHandle handle)
    {
        _allocation = allocation;
        _handle = handle;
        long bytes = Bytes(allocation);
        Interlocked.Add(ref s_liveBytes, bytes);
        if (bytes > 0)
            GC.AddMemoryPressure(bytes);
    }

    /// <summary>Bytes of ring memory taken from libpsyne and not yet freed, in this process (for tests).</summary>
    internal static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>Takes the region of <paramref name="channel"/>, whose handle <paramref name="handle"/> closes it; null when libpsyne keeps it.</summary>
    public static RingMemory? TryTake(psyne_channel* channel, SafeHandle handle)
    {
        psyne_allocation allocation;
        return PsyneNative.psyne_channel_region_take(channel, &allocation) == psyne_status.PSYNE_OK && allocation.data != null
            ? new RingMemory(allocation, handle)
            : null;
    }

    /// <summary>What the block holds: the pages mapped, or the bytes asked for where it came from the heap (no mapping).</summary>
    private static long Bytes(in psyne_allocation allocation) => (long)Math.Max(allocation.size, allocation.mapped_size);

    ~RingMemory()
    {
        // Closing an ipc handle still writes to its mapping (it detaches), and a handle that became
        // unreachable with this object is closed by its own (critical) finalizer, which runs after
        // this one: wait for the next collection then.
        if (!_handle.IsClosed)
        {
            GC.ReRegisterForFinalize(this);
            return;
        }
        long bytes = Bytes(_allocation);
        fixed (psyne_allocation* allocation = &_allocation)
            PsyneNative.psyne_free(allocation);
        Interlocked.Add(ref s_liveBytes, -bytes);
        if (bytes > 0)
            GC.RemoveMemoryPressure(bytes);
    }
}
