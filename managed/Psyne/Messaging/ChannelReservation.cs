using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Psyne.Messaging;

/// <summary>
/// Space reserved in a channel's ring, to fill in place and then <see cref="Commit(ushort)"/> (or
/// <see cref="Abort"/>) exactly once. A <c>ref struct</c>: it lives on the stack of the producer
/// that reserved it, so the span cannot outlive the call that fills it. Nothing is visible to
/// consumers before the commit; an uncommitted reservation holds back every record reserved after it.
/// </summary>
public readonly unsafe ref struct ChannelReservation
{
    private readonly Channel? _channel;
    private readonly Span<byte> _span;
    private readonly ulong _token;
    private readonly bool _dropped;

    internal ChannelReservation(Channel channel, byte* payload, int capacity, ulong token)
    {
        _channel = channel;
        _span = new Span<byte>(payload, capacity);
        _token = token;
    }

    internal ChannelReservation(Channel channel, Span<byte> scratch)
    {
        _channel = channel;
        _span = scratch;
        _dropped = true;
    }

    /// <summary>The reserved bytes, in the ring (aligned as asked). Valid until the commit or abort.</summary>
    public Span<byte> Span => _span;

    /// <summary>Bytes reserved.</summary>
    public int Length => _span.Length;

    /// <summary>
    /// True when the channel's policy is <see cref="FullPolicy.Drop"/> and the ring was full: the span
    /// is scratch memory, and committing sends nothing (the drop is already counted).
    /// </summary>
    public bool IsDropped => _dropped;

    /// <summary>Views the start of the reservation as a <typeparamref name="T"/> (the payload alignment the reserve asked for applies). No copy.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The reservation is smaller than <typeparamref name="T"/>.</exception>
    public ref T As<T>() where T : unmanaged => ref MemoryMarshal.AsRef<T>(_span[..sizeof(T)]);

    /// <summary>Publishes the whole reservation as a record of <paramref name="type"/>. Never blocks, allocates nothing; wakes a sleeping consumer.</summary>
    /// <exception cref="PsyneArgumentException">Already committed or aborted.</exception>
    /// <exception cref="InvalidOperationException">A default (empty) reservation.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public void Commit(ushort type = 0) => Commit(_span.Length, type);

    /// <summary>
    /// Publishes the first <paramref name="length"/> bytes as a record of <paramref name="type"/>; the
    /// rest of the reservation is given back. Never blocks, allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative or larger than the reservation.</exception>
    /// <exception cref="PsyneArgumentException">Already committed or aborted.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public void Commit(int length, ushort type = 0)
    {
        Channel? channel = _channel;
        if (channel is null)
            ThrowEmpty();
        if ((uint)length > (uint)_span.Length)
            ThrowLength(length, _span.Length);
        if (_dropped)
            return;
        channel.Commit((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(_span)), _span.Length, _token, length, type);
    }

    [DoesNotReturn]
    private static void ThrowEmpty() =>
        throw new InvalidOperationException("This reservation is empty (default): reserve one with Channel.Reserve or TryReserve.");

    [DoesNotReturn]
    private static void ThrowLength(int length, int capacity) =>
        throw new ArgumentOutOfRangeException(nameof(length), length, $"The reservation holds {capacity} bytes.");

    /// <summary>Gives the reservation back unpublished; consumers never see it. Never blocks, allocates nothing.</summary>
    /// <exception cref="PsyneArgumentException">Already committed or aborted.</exception>
    public void Abort()
    {
        Channel channel = _channel ?? throw new InvalidOperationException("This reservation is empty (default).");
        if (!_dropped)
            channel.Abort((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(_span)), _span.Length, _token);
    }
}
