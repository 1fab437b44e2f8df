using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Psyne.Interop;

namespace Psyne.Messaging;

/// <summary>
/// A committed record taken from a channel: a view of its bytes in the ring, valid until
/// <see cref="Release"/> (or <see cref="Dispose"/>, which releases). No copy was made. Release
/// each message exactly once; an unreleased record keeps its ring space from producers.
/// </summary>
/// <remarks>
/// A plain struct (not a <c>ref struct</c>) so that <see cref="Channel.ReadAsync"/> can return it
/// and consumers may keep several before releasing them in any order. Copies of it name the same
/// record: release one of them only.
/// </remarks>
public readonly unsafe struct ChannelMessage : IDisposable
{
    private readonly Channel? _channel;
    private readonly void* _data;
    private readonly uint _length;
    private readonly ushort _type;
    private readonly ulong _token;

    internal ChannelMessage(Channel channel, in psyne_record record)
    {
        _channel = channel;
        _data = record.data;
        _length = record.length;
        _type = record.type;
        _token = record.token;
    }

    internal ChannelMessage(Channel channel, void* data, uint length, ushort type, ulong token)
    {
        _channel = channel;
        _data = data;
        _length = length;
        _type = type;
        _token = token;
    }

    /// <summary>The payload, in the ring. No copy; valid until the message is released or the channel disposed.</summary>
    /// <exception cref="ObjectDisposedException">The channel was disposed.</exception>
    public ReadOnlySpan<byte> Payload
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
        get
        {
            if (_channel is null)
                return default;
            _channel.ThrowIfDisposed();
            return new ReadOnlySpan<byte>(_data, (int)_length);
        }
    }

    /// <summary>
    /// The payload as writable memory: until the release the record belongs to this consumer, which
    /// may transform it in place (the producer never looks at it again). No copy.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The channel was disposed.</exception>
    public Span<byte> WritablePayload
    {
        get
        {
            if (_channel is null)
                return default;
            _channel.ThrowIfDisposed();
            return new Span<byte>(_data, (int)_length);
        }
    }

    /// <summary>Payload bytes.</summary>
    public int Length => (int)_length;

    /// <summary>The record type the producer committed with.</summary>
    public ushort Type => _type;

    /// <summary>True for a default message (none was read).</summary>
    public bool IsEmpty => _channel is null;

    /// <summary>The channel the record came from.</summary>
    /// <exception cref="InvalidOperationException">A default message.</exception>
    public Channel Channel => _channel ?? throw new InvalidOperationException("This message is empty (default).");

    internal void* DataPointer => _data;

    /// <summary>Copies the payload out as a <typeparamref name="T"/> (unaligned). Allocates nothing; does not release.</summary>
    /// <exception cref="PsyneFormatException">The payload is not <c>sizeof(T)</c> bytes.</exception>
    public T Read<T>() where T : unmanaged
    {
        if (_length != (uint)sizeof(T))
        {
            throw new PsyneFormatException(
                $"a record of {_length} bytes cannot be read as {typeof(T).Name} ({sizeof(T)} bytes).");
        }
        Channel.ThrowIfDisposed();
        return Unsafe.ReadUnaligned<T>(_data);
    }

    /// <summary>Gives the record's space back to producers. Never blocks, allocates nothing.</summary>
    /// <exception cref="PsyneArgumentException">Already released.</exception>
    /// <exception cref="ObjectDisposedException">The channel was disposed.</exception>
    /// <exception cref="InvalidOperationException">A default message.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public void Release()
    {
        Channel? channel = _channel;
        if (channel is null)
            ThrowEmpty();
        channel.Release(_data, _length, _type, _token);
    }

    [DoesNotReturn]
    private static void ThrowEmpty() => throw new InvalidOperationException("This message is empty (default).");

    /// <summary>Releases the record (as <see cref="Release"/>); does nothing for a default message. Call one of the two, once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public void Dispose()
    {
        if (_channel is not null)
            _channel.Release(_data, _length, _type, _token);
    }
}
