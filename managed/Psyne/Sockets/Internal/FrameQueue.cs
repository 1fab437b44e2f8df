using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Psyne.Sockets.Internal;

/// <summary>
/// A single-producer, single-consumer queue of frames between a socket and one peer (one
/// direction). Small frames are copied into a byte ring (8-byte header, payload padded to 8, a
/// record never wraps); large ones travel as pooled arrays by reference. The producer publishes
/// at message boundaries, so a consumer never sees half a message unless a message is larger
/// than the ring, and a producer whose connection dies mid-message can roll the part back.
/// </summary>
/// <remarks>
/// The high-water mark counts whole messages, as ZeroMQ's does: <see cref="QueuedMessages"/> is
/// written minus read. Positions only grow (64-bit), so full and empty are never ambiguous.
/// </remarks>
internal sealed class FrameQueue
{
    private const int HeaderSize = 8;
    private const int LargeSlots = 256;

    private readonly byte[] _ring;
    private readonly int _mask;
    private readonly byte[]?[] _large = new byte[LargeSlots][];
    private readonly int[] _largeLengths = new int[LargeSlots];

    // Producer-owned.
    private long _write;
    private long _cachedHead;
    private long _largeWritten;
    private long _messagesWritten;
    private long _publishedLarge;
    private long _largeBytesWritten;
    // Consumer-owned.
    private long _read;
    private long _cachedTail;
    private long _largeRead;
    private long _largeBytesRead;
    private long _messagesRead;
    private long _releasedUpTo;

    private Shared _shared;

    [StructLayout(LayoutKind.Explicit, Size = 320)]
    private struct Shared
    {
        [FieldOffset(64)] public long Tail;               // published write position
        [FieldOffset(72)] public long TailMessages;       // messages complete at Tail
        [FieldOffset(128)] public long Head;              // released read position
        [FieldOffset(136)] public long HeadMessages;      // messages fully read at Head
        [FieldOffset(192)] public int ProducerClosed;     // no more frames will come
        [FieldOffset(256)] public int ConsumerClosed;     // nobody will read: producers stop queueing
    }

    public FrameQueue(int capacityBytes)
    {
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacityBytes, 4096));
        _ring = GC.AllocateUninitializedArray<byte>(capacity, pinned: true);
        _mask = capacity - 1;
        InlineMax = capacity / 8;
    }

    /// <summary>Where this queue's large frames live: rented by the producer, returned by the consumer.</summary>
    public LargeBufferPool Buffers { get; } = new();

    /// <summary>Frames up to this size are copied into the ring; larger ones travel as pooled arrays.</summary>
    public int InlineMax { get; }

    /// <summary>Woken when frames are published (the consumer's signal).</summary>
    public WaitSignal? ConsumerSignal { get; set; }

    /// <summary>Woken when space is released (the producer's signal).</summary>
    public WaitSignal? ProducerSignal { get; set; }

    // ---- producer ----------------------------------------------------------------------------

    /// <summary>Whole messages queued and not yet read, as the producer sees it.</summary>
    public long QueuedMessages => _messagesWritten - Volatile.Read(ref _shared.HeadMessages);

    /// <summary>True once the consumer side has gone: frames written now are discarded.</summary>
    public bool ConsumerClosed => Volatile.Read(ref _shared.ConsumerClosed) != 0;

    /// <summary>
    /// Writes one frame, unpublished, if there is room now: ring space for a small frame, a free
    /// slot for a large one. Copies <paramref name="data"/> (once).
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> data, FrameFlags flags)
    {
        if (data.Length > InlineMax)
        {
            if (!HasLargeSlot(data.Length))
                return false;
            byte[] array = Buffers.Rent(data.Length);
            data.CopyTo(array);
            return TryWriteOwned(array, data.Length, flags);
        }
        int record = RecordSize(data.Length);
        if (!Reserve(record))
            return false;
        int at = (int)(_write & _mask);
        WriteHeader(at, data.Length, flags);
        data.CopyTo(_ring.AsSpan(at + HeaderSize));
        Advance(record, flags);
        return true;
    }

    /// <summary>
    /// Queues <paramref name="array"/> (from <see cref="Buffers"/>) by reference; the
    /// queue owns it from now on and returns it to the pool once read.
    /// </summary>
    public bool TryWriteOwned(byte[] array, int length, FrameFlags flags)
    {
        if (!HasLargeSlot(length) || !Reserve(HeaderSize))
            return false;
        _largeLengths[(int)(_largeWritten & (LargeSlots - 1))] = length;
        _large[(int)(_largeWritten++ & (LargeSlots - 1))] = array;
        _largeBytesWritten += length;
        int at = (int)(_write & _mask);
        WriteHeader(at, length, flags | FrameFlags.OutOfLine);
        Advance(HeaderSize, flags);
        return true;
    }

    /// <summary>True if a frame of <paramref name="size"/> bytes would fit now.</summary>
    public bool HasRoomFor(int size) =>
        size > InlineMax ? HasLargeSlot(size) && Fits(HeaderSize) : Fits(RecordSize(size));

    /// <summary>True when everything published has been consumed (safe to ask from any thread).</summary>
    public bool IsDrained => Volatile.Read(ref _shared.Head) == Volatile.Read(ref _shared.Tail);

    /// <summary>Frames written since the last publish (the unpublished part of a message, or a batch).</summary>
    public bool HasUnpublished => _write != _shared.Tail;

    /// <summary>Makes every written frame visible to the consumer and wakes it if it sleeps (unless <paramref name="notify"/> is false: the producer will see to it).</summary>
    public void Publish(bool notify = true)
    {
        Volatile.Write(ref _shared.TailMessages, _messagesWritten);
        Interlocked.Exchange(ref _shared.Tail, _write); // a full fence before the waiter check
        _publishedLarge = _largeWritten;
        if (notify)
            ConsumerSignal?.Notify();
    }

    /// <summary>Discards frames written since the last publish (a message cut short by a lost connection).</summary>
    public void Rollback()
    {
        while (_largeWritten > _publishedLarge)
        {
            int slot = (int)(--_largeWritten & (LargeSlots - 1));
            _largeBytesWritten -= _largeLengths[slot];
            Buffers.Return(_large[slot]!);
            _large[slot] = null;
        }
        _write = _shared.Tail;
        _messagesWritten = _shared.TailMessages;
    }

    /// <summary>The producer will write no more; the consumer drains what was published, then sees the end.</summary>
    public void CloseProducer()
    {
        Interlocked.Exchange(ref _shared.ProducerClosed, 1);
        ConsumerSignal?.NotifyAlways();
    }

    /// <summary>
    /// Room for one more large frame: a free slot, and the large bytes in flight within
    /// <see cref="LargeBudget"/> (one frame always fits, however large), so a queue of big frames
    /// holds a bounded amount of memory and its buffers are reused instead of allocated.
    /// </summary>
    private bool HasLargeSlot(int length)
    {
        if (_largeWritten - Volatile.Read(ref _largeRead) >= LargeSlots)
            return false;
        long inFlight = _largeBytesWritten - Volatile.Read(ref _largeBytesRead);
        return inFlight == 0 || inFlight + length <= LargeBudget;
    }

    /// <summary>
    /// Bytes of large frames a queue holds at most: 64 MiB, or four rings if that is more. The
    /// high-water mark still counts messages; this only keeps a queue of huge frames from
    /// holding gigabytes (like a socket buffer's limit).
    /// </summary>
    private long LargeBudget => Math.Max(4L * _ring.Length, 64L << 20);

    private bool Fits(int record)
    {
        // A record that would cross the end is preceded by padding up to the end.
        int at = (int)(_write & _mask);
        int needed = at + record > _ring.Length ? record + (_ring.Length - at) : record;
        if (_write + needed - _cachedHead <= _ring.Length)
            return true;
        _cachedHead = Volatile.Read(ref _shared.Head);
        return _write + needed - _cachedHead <= _ring.Length;
    }

    private bool Reserve(int record)
    {
        if (!Fits(record))
            return false;
        int at = (int)(_write & _mask);
        if (at + record > _ring.Length)
        {
            WriteHeader(at, _ring.Length - at - HeaderSize, FrameFlags.Pad);
            _write += _ring.Length - at;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Advance(int record, FrameFlags flags)
    {
        _write += record;
        if ((flags & FrameFlags.More) == 0)
            _messagesWritten++;
    }

    private void WriteHeader(int at, int length, FrameFlags flags)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_ring.AsSpan(at), length);
        BinaryPrimitives.WriteInt32LittleEndian(_ring.AsSpan(at + 4), (int)flags);
    }

    private static int RecordSize(int length) => HeaderSize + ((length + 7) & ~7);

    // ---- consumer ----------------------------------------------------------------------------

    /// <summary>True once the producer closed and everything it published has been read.</summary>
    public bool IsCompleted => Volatile.Read(ref _shared.ProducerClosed) != 0 && !HasData();

    /// <summary>True if a published frame is waiting (consumer's view).</summary>
    public bool HasData()
    {
        if (_read != _cachedTail)
            return true;
        _cachedTail = Volatile.Read(ref _shared.Tail);
        return _read != _cachedTail;
    }

    /// <summary>The next published frame, without consuming it. Valid until <see cref="Consume"/>.</summary>
    public bool TryPeek(out QueuedFrame frame)
    {
        while (HasData())
        {
            int at = (int)(_read & _mask);
            int length = BinaryPrimitives.ReadInt32LittleEndian(_ring.AsSpan(at));
            var flags = (FrameFlags)BinaryPrimitives.ReadInt32LittleEndian(_ring.AsSpan(at + 4));
            if ((flags & FrameFlags.Pad) != 0)
            {
                _read += HeaderSize + length;
                continue;
            }
            if ((flags & FrameFlags.OutOfLine) != 0)
            {
                byte[] array = _large[(int)(_largeRead & (LargeSlots - 1))]!;
                frame = new QueuedFrame(array, 0, length, flags & ~FrameFlags.OutOfLine, HeaderSize, outOfLine: true);
            }
            else
            {
                frame = new QueuedFrame(_ring, at + HeaderSize, length, flags, RecordSize(length), outOfLine: false);
            }
            return true;
        }
        frame = default;
        return false;
    }

    /// <summary>
    /// Consumes the frame <see cref="TryPeek"/> returned; a large frame's array goes back to the pool.
    /// </summary>
    public void Consume(in QueuedFrame frame)
    {
        if (frame.OutOfLine)
        {
            int slot = (int)(_largeRead & (LargeSlots - 1));
            Buffers.Return(_large[slot]!);
            _large[slot] = null;
            Volatile.Write(ref _largeBytesRead, _largeBytesRead + _largeLengths[slot]);
            Volatile.Write(ref _largeRead, _largeRead + 1);
        }
        _read += frame.RecordSize;
        if ((frame.Flags & FrameFlags.More) == 0)
        {
            _messagesRead++;
            Release();
        }
        else if (_read - _releasedUpTo >= _ring.Length / 4)
        {
            Release(); // a message larger than the ring must not stall its own producer
        }
    }

    /// <summary>Hands consumed space back to the producer and wakes it if it waits for room.</summary>
    public void Release()
    {
        _releasedUpTo = _read;
        Volatile.Write(ref _shared.HeadMessages, _messagesRead);
        Interlocked.Exchange(ref _shared.Head, _read);
        ProducerSignal?.Notify();
    }

    /// <summary>The consumer is gone: the producer stops queueing, and what was queued is returned to the pool.</summary>
    public void CloseConsumer()
    {
        Interlocked.Exchange(ref _shared.ConsumerClosed, 1);
        ProducerSignal?.NotifyAlways();
    }

    /// <summary>
    /// Skips queued frames until the end of the current message (after a connection died
    /// mid-message on the consumer side, the rest of that message must not start the next one).
    /// </summary>
    public void DiscardRestOfMessage()
    {
        while (TryPeek(out QueuedFrame f))
        {
            Consume(f);
            if ((f.Flags & FrameFlags.More) == 0)
                return;
        }
    }

    /// <summary>Discards everything published (a subscriber's stale subscription records on reconnect).</summary>
    public void DiscardAll()
    {
        while (TryPeek(out QueuedFrame f))
            Consume(f);
        Release();
    }
}

/// <summary>A frame seen in a <see cref="FrameQueue"/>: its bytes stay valid until it is consumed.</summary>
internal readonly struct QueuedFrame
{
    public QueuedFrame(byte[] array, int offset, int length, FrameFlags flags, int recordSize, bool outOfLine)
    {
        Array = array;
        Offset = offset;
        Length = length;
        Flags = flags;
        RecordSize = recordSize;
        OutOfLine = outOfLine;
    }

    public byte[] Array { get; }
    public int Offset { get; }
    public int Length { get; }
    public FrameFlags Flags { get; }
    public int RecordSize { get; }
    public bool OutOfLine { get; }
    public bool More => (Flags & FrameFlags.More) != 0;
    public ReadOnlySpan<byte> Span => new(Array, Offset, Length);
}
