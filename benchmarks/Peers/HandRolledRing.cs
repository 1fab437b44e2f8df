using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Psyne.Benchmarks.Peers;

/// <summary>
/// The machine's own limit for the inproc per-message benchmark: the single-producer ring a
/// person writes by hand for one message type, moving the same bytes as a Psyne inproc SPSC
/// channel (an 8-byte header, then the 64-byte payload filled and checked in place; the slot
/// after each record zeroed before its header is published; the consumer publishing its release
/// position after every message) and nothing else: no API between the loop and the ring, no
/// checks of a peer's words, no counters, no wake-ups, no closing, the cursors in registers.
/// </summary>
/// <remarks>
/// What it measures is what two cores can do with one protocol on this machine at this moment,
/// which varies more than anything Psyne does (docs/performance.md, "Reading the inproc
/// figures"): a benchmark compares Psyne with it in the same run.
/// </remarks>
public sealed unsafe class HandRolledRing : IDisposable
{
    private const int Payload = 64;
    private const ulong Record = 8 + Payload;
    private const ulong Published = 1UL << 62;
    private const ulong Padding = 1UL << 63;

    private readonly byte* _ring;
    private readonly ulong* _release; // the consumer's release position, on its own pair of cache lines
    private readonly ulong _capacity;
    private readonly Thread _consumer;
    private ulong _tail, _cachedRelease, _sent;
    private PaddedCounter _consumed;
    private volatile bool _stop;
    private int _sleeping; // the consumer found the ring empty for a while and waits on _wake
    private readonly ManualResetEventSlim _wake = new(false);
    private long _errors;

    /// <param name="capacity">Ring bytes, a power of two of at least 1 KiB.</param>
    /// <param name="consumerCpu">The CPU the consumer thread pins itself to; -1: none.</param>
    public HandRolledRing(int capacity, int consumerCpu = -1)
    {
        if (capacity < 1024 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "A power of two of at least 1 KiB.");
        _capacity = (ulong)capacity;
        _ring = (byte*)NativeMemory.AlignedAlloc((nuint)capacity, 4096);
        NativeMemory.Clear(_ring, (nuint)capacity);
        _release = (ulong*)NativeMemory.AlignedAlloc(256, 128);
        NativeMemory.Clear(_release, 256);
        _consumer = ConsumerThread.StartPinned("hand-rolled-consumer", consumerCpu, Consume);
    }

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Sends <paramref name="count"/> messages and returns once the consumer has checked them all.</summary>
    public void Send(long count)
    {
        for (long done = 0; done < count; done += HotLoop.Chunk)
        {
            SendChunk(Math.Min(HotLoop.Chunk, count - done));
            WakeConsumer(); // once per chunk
        }
        PaddedCounter.WaitUntilConsumed(ref _consumed, (long)_sent);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SendChunk(long count)
    {
        byte* ring = _ring;
        ulong capacity = _capacity, mask = capacity - 1;
        ulong tail = _tail, cached = _cachedRelease, sequence = _sent;
        for (long i = 0; i < count; i++)
        {
            ulong index = tail & mask;
            if (index + Record + 8 > capacity)
            {
                // No room before the end: pad to it (the slot at 0 reads 0 until published) and wrap.
                ulong pad = capacity - index;
                cached = WaitForRoom(tail + pad + Record + 8, 0);
                *(ulong*)ring = 0;
                Volatile.Write(ref *(ulong*)(ring + index), Padding | pad);
                tail += pad;
                index = 0;
            }
            if (tail + Record + 8 > cached + capacity)
                cached = WaitForRoom(tail + Record + 8, capacity / 4);
            *(ulong*)(ring + ((tail + Record) & mask)) = 0;
            SequencedPayload.Fill(new Span<byte>(ring + index + 8, Payload), sequence++);
            Volatile.Write(ref *(ulong*)(ring + index), Published | Payload);
            tail += Record;
        }
        _tail = tail;
        _cachedRelease = cached;
        _sent = sequence;
    }

    /// <summary>Spins until the ring has room up to <paramref name="end"/>, preferring <paramref name="extra"/> more (as Psyne's producer does); the release position seen.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong WaitForRoom(ulong end, ulong extra)
    {
        ulong release = Volatile.Read(ref *_release);
        if (end <= release + _capacity)
            return release;
        WakeConsumer(); // it may have gone to sleep on an empty ring before this chunk filled it
        for (int run = 1; end + extra > release + _capacity; run = Math.Min(run * 2, 32))
        {
            Pause(run);
            ulong seen = Volatile.Read(ref *_release);
            if (seen == release && end <= seen + _capacity)
                break; // nothing more released since the last look: take what there is
            release = seen;
        }
        return release;
    }

    /// <summary>Wakes a consumer that sleeps on an empty ring; the fence orders the headers published before the look at its flag.</summary>
    private void WakeConsumer()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _sleeping) != 0)
            _wake.Set();
    }

    private void Consume()
    {
        ulong head = 0, expected = 0;
        while (true)
        {
            (head, expected) = ReadReady(head, expected);
            Volatile.Write(ref _consumed.Value, (long)expected);
            // Empty: spin for the next header as Psyne's consumer does, then sleep until the
            // producer's next chunk (a consumer spinning forever would take the CPU the other
            // benchmarks' consumers run on).
            ulong* slot = (ulong*)(_ring + (head & (_capacity - 1)));
            for (int run = 1, spent = 0; Volatile.Read(ref *slot) == 0; run = Math.Min(run * 2, 32), spent += run)
            {
                if (_stop)
                    return;
                if (spent > 100_000)
                {
                    Sleep(slot);
                    spent = 0;
                }
                Pause(run);
            }
        }
    }

    private void Sleep(ulong* slot)
    {
        _wake.Reset();
        Interlocked.Exchange(ref _sleeping, 1);
        if (Volatile.Read(ref *slot) == 0 && !_stop)
            _wake.Wait();
        Volatile.Write(ref _sleeping, 0);
    }

    /// <summary>Reads and checks the messages ready now, up to a chunk; the new head and sequence.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (ulong Head, ulong Expected) ReadReady(ulong head, ulong expected)
    {
        byte* ring = _ring;
        ulong mask = _capacity - 1;
        for (int i = 0; i < HotLoop.Chunk; i++)
        {
            ulong index = head & mask;
            ulong header = Volatile.Read(ref *(ulong*)(ring + index));
            if (header == 0)
                break;
            if ((header & Padding) != 0)
            {
                head += (uint)header;
            }
            else
            {
                if ((uint)header != Payload || !SequencedPayload.Check(new ReadOnlySpan<byte>(ring + index + 8, Payload), expected))
                    Interlocked.Increment(ref _errors);
                expected++;
                head += Record;
            }
            Volatile.Write(ref *_release, head);
        }
        return (head, expected);
    }

    private static void Pause(int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (X86Base.IsSupported)
                X86Base.Pause();
            else
                Thread.SpinWait(1);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _wake.Set();
        _consumer.Join();
        _wake.Dispose();
        NativeMemory.AlignedFree(_ring);
        NativeMemory.AlignedFree(_release);
    }
}
