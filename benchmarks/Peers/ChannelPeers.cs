using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading.Channels;
using Psyne.Messaging;
using PsyneChannel = Psyne.Messaging.Channel;
using ChannelOptions = Psyne.Messaging.ChannelOptions;

namespace Psyne.Benchmarks.Peers;

/// <summary>A 64-byte message for the peers that move structs (System.Threading.Channels).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct Message64
{
    public long Sequence;
}

/// <summary>
/// The payload every channel benchmark, demo and peer process writes and checks: the sequence
/// number (8 bytes, little-endian), then the low byte of the sequence in every other byte. A
/// reader checks every byte, so a benchmark that "reads" a message really touches all of it.
/// </summary>
public static class SequencedPayload
{
    /// <summary>The size the message-rate benchmarks move: filled and checked with two 32-byte vectors each.</summary>
    private const int Small = 64;

    public static void Fill(Span<byte> payload, ulong sequence)
    {
        if (payload.Length == Small && Vector256.IsHardwareAccelerated)
        {
            (Vector256<byte> head, Vector256<byte> rest) = Expected(sequence);
            ref byte p = ref MemoryMarshal.GetReference(payload);
            head.StoreUnsafe(ref p);
            rest.StoreUnsafe(ref p, 32);
        }
        else if (payload.Length >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(payload, sequence);
            payload[8..].Fill((byte)sequence);
        }
        else
        {
            payload.Fill((byte)sequence);
        }
    }

    public static bool Check(ReadOnlySpan<byte> payload, ulong sequence)
    {
        if (payload.Length == Small && Vector256.IsHardwareAccelerated)
        {
            (Vector256<byte> head, Vector256<byte> rest) = Expected(sequence);
            ref byte p = ref MemoryMarshal.GetReference(payload);
            return Vector256.LoadUnsafe(ref p) == head && Vector256.LoadUnsafe(ref p, 32) == rest;
        }
        if (payload.Length < 8)
            return payload.IndexOfAnyExcept((byte)sequence) < 0;
        return BinaryPrimitives.ReadUInt64LittleEndian(payload) == sequence && payload[8..].IndexOfAnyExcept((byte)sequence) < 0;
    }

    /// <summary>Bytes 0-31 and 32-63 of a 64-byte payload: the sequence (little-endian), then its low byte.</summary>
    private static (Vector256<byte> Head, Vector256<byte> Tail) Expected(ulong sequence)
    {
        Vector256<byte> rest = Vector256.Create((byte)sequence);
        ulong fill = rest.AsUInt64().ToScalar();
        Vector256<byte> head = Vector256.Create(BitConverter.IsLittleEndian ? sequence : BinaryPrimitives.ReverseEndianness(sequence), fill, fill, fill).AsByte();
        return (head, rest);
    }

    /// <summary>The sequence number of a payload of at least 8 bytes.</summary>
    public static ulong SequenceOf(ReadOnlySpan<byte> payload) => BinaryPrimitives.ReadUInt64LittleEndian(payload);
}

/// <summary>The values of tensor number <c>sequence</c> in the demo and the multi-process tests: cheap to make, different in every element and tensor.</summary>
public static class TensorPattern
{
    /// <summary>
    /// <c>data[i] = sequence % 1000 + (i &amp; 0xFFFF) * 0.25f</c>, eight floats at a time. Fully
    /// optimised from the first call: the demo calls it ~70 times, too few for tiered compilation
    /// to reach optimised code within the demo (whose rate was 1.4 GB/s end to end, 7-10 after). Every operation is exact but
    /// the one addition, as in the scalar form, so both give the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(Span<float> data, long sequence)
    {
        float offset = sequence % 1000;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> lanes = Vector256.Create(0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);
            Vector256<float> quarter = Vector256.Create(0.25f), offsets = Vector256.Create(offset);
            ref float d = ref MemoryMarshal.GetReference(data);
            // i is a multiple of 8, and so is the period 0x10000: the eight lanes never wrap.
            for (; i + 8 <= data.Length; i += 8)
                (offsets + (Vector256.Create((float)(i & 0xFFFF)) + lanes) * quarter).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < data.Length; i++)
            data[i] = offset + (i & 0xFFFF) * 0.25f;
    }
}

/// <summary>
/// Pins the calling thread to one CPU (Linux sched_setaffinity) and restores it afterwards, so
/// that two busy-polling threads or processes run on different cores. A no-op elsewhere.
/// </summary>
public static unsafe partial class CpuAffinity
{
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SetAffinity(int pid, nint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int GetAffinity(int pid, nint size, ulong* mask);

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; returns a scope that restores the previous set, or null where pinning is not possible.</summary>
    public static Scope? Pin(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= 1024)
            return null;
        var scope = new Scope();
        fixed (ulong* previous = scope.Previous)
        {
            if (GetAffinity(0, 128, previous) != 0)
                return null;
        }
        ulong* mask = stackalloc ulong[16];
        new Span<ulong>(mask, 16).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SetAffinity(0, 128, mask) == 0 ? scope : null;
    }

    public sealed class Scope : IDisposable
    {
        internal readonly ulong[] Previous = new ulong[16];

        public void Dispose()
        {
            fixed (ulong* p = Previous)
                SetAffinity(0, 128, p);
        }
    }
}

/// <summary>Latency sampling: one timestamp pair per round trip, the median of many.</summary>
public static class RoundTrips
{
    /// <summary>Median nanoseconds of <paramref name="roundTrip"/> over about <paramref name="budget"/>, after a warm-up.</summary>
    public static double MedianNanoseconds(Action roundTrip, TimeSpan budget, int maxSamples = 200_000)
    {
        long warmEnd = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * Math.Min(0.2, budget.TotalSeconds / 4));
        int warm = 0;
        while (Stopwatch.GetTimestamp() < warmEnd || warm < 100)
        {
            roundTrip();
            warm++;
        }
        var samples = new long[maxSamples];
        long end = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * budget.TotalSeconds);
        int n = 0;
        while (n < maxSamples && (n < 1000 || Stopwatch.GetTimestamp() < end))
        {
            long t0 = Stopwatch.GetTimestamp();
            roundTrip();
            samples[n++] = Stopwatch.GetTimestamp() - t0;
        }
        Array.Sort(samples, 0, n);
        return samples[n / 2] * 1e9 / Stopwatch.Frequency;
    }
}

/// <summary>
/// The in-process peer: a bounded System.Threading.Channels channel of 64-byte structs, single
/// reader and writer, a consumer thread that checks every sequence number. Both sides spin a
/// little before they block (SpinWait, then WaitToRead/WriteAsync), as Psyne's default policy does.
/// </summary>
public sealed class ThreadingChannelsSpsc : IDisposable
{
    private readonly Channel<Message64> _channel;
    private readonly Thread _consumer;
    private long _sent;
    private PaddedCounter _consumed; // written by the consumer only, on a line of its own
    private long _errors;

    /// <param name="capacity">Messages the channel holds.</param>
    /// <param name="consumerCpu">The CPU the consumer thread pins itself to; -1: none.</param>
    public ThreadingChannelsSpsc(int capacity, int consumerCpu = -1)
    {
        _channel = System.Threading.Channels.Channel.CreateBounded<Message64>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _consumer = ConsumerThread.StartPinned("stc-consumer", consumerCpu, Consume);
    }

    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Sends <paramref name="count"/> messages and returns once the consumer has taken them all.</summary>
    public void Send(long count)
    {
        for (long done = 0; done < count; done += HotLoop.Chunk)
            _sent = SendChunk(_sent, Math.Min(HotLoop.Chunk, count - done));
        PaddedCounter.WaitUntilConsumed(ref _consumed, _sent);
    }

    /// <summary>The producer's hot loop, in a method of its own called once per chunk, as PsyneInprocSpsc's (see HotLoop).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long SendChunk(long sent, long count)
    {
        ChannelWriter<Message64> writer = _channel.Writer;
        for (long i = 0; i < count; i++)
        {
            var message = new Message64 { Sequence = sent++ };
            var spin = new SpinWait();
            while (!writer.TryWrite(message))
            {
                if (spin.NextSpinWillYield)
                {
                    ValueTask<bool> wait = writer.WaitToWriteAsync();
                    if (!wait.IsCompleted)
                        wait.AsTask().Wait();
                    spin.Reset();
                }
                else
                {
                    spin.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
        return sent;
    }

    private void Consume()
    {
        ChannelReader<Message64> reader = _channel.Reader;
        long expected = 0;
        while (true)
        {
            expected = TakeReady(reader, expected);
            var spin = new SpinWait();
            while (!reader.TryPeek(out _) && !spin.NextSpinWillYield)
                spin.SpinOnce(sleep1Threshold: -1);
            if (spin.NextSpinWillYield)
            {
                ValueTask<bool> wait = reader.WaitToReadAsync();
                bool more = wait.IsCompleted ? wait.Result : wait.AsTask().Result;
                if (!more)
                    return;
            }
        }
    }

    /// <summary>Takes and checks every message ready now (the consumer's hot loop, in a method of its own as in PsyneInprocSpsc).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long TakeReady(ChannelReader<Message64> reader, long expected)
    {
        while (reader.TryRead(out Message64 message))
        {
            if (message.Sequence != expected)
                Interlocked.Increment(ref _errors);
            expected = message.Sequence + 1;
        }
        // Progress once the channel is empty, not per message (as PsyneInprocSpsc reports it).
        Volatile.Write(ref _consumed.Value, expected);
        return expected;
    }

    public void Dispose()
    {
        _channel.Writer.TryComplete();
        _consumer.Join();
    }
}

/// <summary>
/// Psyne's side of the in-process case, shaped like <see cref="ThreadingChannelsSpsc"/>: an
/// inproc SPSC ring, 64-byte records reserved and filled in place by the caller, and a consumer
/// thread that reads them in place, checks every byte and releases them.
/// </summary>
public sealed class PsyneInprocSpsc : IDisposable
{
    private const int Batch = 64;
    private readonly PsyneChannel _channel;
    private readonly Thread _consumer;
    private readonly int _size;
    private readonly bool _batch;
    private readonly Message64[] _out = new Message64[Batch];
    private ulong _sent;
    private PaddedCounter _consumed; // written by the consumer only, on a line of its own
    private long _errors;

    /// <param name="batch">
    /// Move <see cref="Message64"/> structs 64 at a time with WriteBatch/TryReadBatch (one copy in,
    /// one copy out, as System.Threading.Channels does) instead of filling and reading each record in place.
    /// </param>
    public PsyneInprocSpsc(string name, long capacity, int size, WaitPolicy wait = WaitPolicy.SpinYieldFutex, int consumerCpu = -1,
                           bool batch = false)
    {
        _batch = batch;
        if (batch && size != 64)
            throw new ArgumentException("Batches move 64-byte messages.", nameof(size));
        _size = size;
        _channel = PsyneChannel.Create($"inproc://{name}", new ChannelOptions { Capacity = capacity, WaitPolicy = wait });
        _consumer = ConsumerThread.StartPinned("psyne-consumer", consumerCpu, Consume);
    }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        for (long done = 0; done < count; done += HotLoop.Chunk)
        {
            long n = Math.Min(HotLoop.Chunk, count - done);
            _sent = _batch ? SendBatches(_sent, n) : SendInPlace(_sent, n);
        }
        PaddedCounter.WaitUntilConsumed(ref _consumed, (long)_sent);
    }

    // Each loop in a method of its own, as an application's send loop would be: the JIT allocates
    // registers per method, and the drain's spin (a call into the runtime) kept beside the loop
    // pushed the loop's values onto the stack. Called once per chunk: see HotLoop.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong SendInPlace(ulong sent, long count)
    {
        PsyneChannel channel = _channel;
        int size = _size;
        for (long i = 0; i < count; i++)
        {
            ChannelReservation r = channel.Reserve(size);
            SequencedPayload.Fill(r.Span, sent++);
            r.Commit();
        }
        return sent;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong SendBatches(ulong sent, long count)
    {
        for (long done = 0; done < count;)
        {
            int n = (int)Math.Min(Batch, count - done);
            for (int i = 0; i < n; i++)
                _out[i].Sequence = (long)sent++;
            _channel.WriteBatch<Message64>(_out.AsSpan(0, n));
            done += n;
        }
        return sent;
    }

    private void Consume()
    {
        ulong expected = 0;
        var received = new Message64[Batch];
        try
        {
            while (_batch)
            {
                int n = _channel.TryReadBatch<Message64>(received);
                if (n == 0)
                {
                    received[0] = _channel.Read<Message64>(); // wait for the next one
                    n = 1;
                }
                for (int i = 0; i < n; i++)
                {
                    if ((ulong)received[i].Sequence != expected++)
                        Interlocked.Increment(ref _errors);
                }
                Volatile.Write(ref _consumed.Value, (long)expected);
            }
            while (true)
            {
                expected = ReadReady(expected, HotLoop.Chunk);
                // The ring is empty (or a chunk was read): report progress, then wait for the next record.
                Volatile.Write(ref _consumed.Value, (long)expected);
                expected = ReadOne(expected);
            }
        }
        catch (PsyneClosedException)
        {
        }
    }

    /// <summary>
    /// Reads and checks up to <paramref name="count"/> messages in place, while there are any (the
    /// consumer's hot loop, in a method of its own: see SendInPlace). Progress is reported once the
    /// ring is empty, not per message, as for System.Threading.Channels.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ReadReady(ulong expected, long count)
    {
        PsyneChannel channel = _channel;
        for (long i = 0; i < count && channel.TryRead(out ChannelMessage message); i++)
        {
            if (!SequencedPayload.Check(message.Payload, expected++))
                Interlocked.Increment(ref _errors);
            message.Release();
        }
        return expected;
    }

    /// <summary>Waits for the next message (spinning, then sleeping, as the channel's policy says) and checks it.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ulong ReadOne(ulong expected)
    {
        ChannelMessage message = _channel.Read();
        if (!SequencedPayload.Check(message.Payload, expected++))
            Interlocked.Increment(ref _errors);
        message.Release();
        return expected;
    }

    public void Dispose()
    {
        _channel.Complete();
        _consumer.Join();
        _channel.Dispose();
    }
}

/// <summary>
/// Starts a benchmark's consumer thread and returns once it runs, pinned: a producer that began
/// while its consumer was still starting would find the ring full, and the JIT's profile of its
/// first calls (from which the final code is laid out) would then say the slow path is the usual one.
/// </summary>
public static class ConsumerThread
{
    /// <param name="name">The thread's name.</param>
    /// <param name="cpu">The CPU to pin it to; -1: none.</param>
    /// <param name="consume">The consumer's loop.</param>
    public static Thread StartPinned(string name, int cpu, Action consume)
    {
        using var running = new ManualResetEventSlim();
        var thread = new Thread(() =>
        {
            using CpuAffinity.Scope? pin = CpuAffinity.Pin(cpu);
            running.Set();
            consume();
        }) { IsBackground = true, Name = name };
        thread.Start();
        running.Wait();
        return thread;
    }
}

/// <summary>
/// How the peers' hot loops are called. A loop in a method called once runs, for as long as it
/// loops, in the code the JIT compiles to replace a running interpreter-tier frame (on-stack
/// replacement), which keeps its values in that frame's stack slots: a store or two more per
/// message. Called once per chunk, the method reaches the JIT's final tier as an application's
/// would (a loop run per request, per batch, per frame).
/// </summary>
public static class HotLoop
{
    /// <summary>Messages per call of a hot loop.</summary>
    public const int Chunk = 4096;
}

/// <summary>A counter alone on its pair of cache lines, so the thread that writes it shares them with nobody.</summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct PaddedCounter
{
    [FieldOffset(128)] public long Value;

    /// <summary>Spins until the consumer's count reaches <paramref name="sent"/>. Apart from the send loops (a call into the runtime beside a loop costs the loop registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void WaitUntilConsumed(ref PaddedCounter consumed, long sent)
    {
        var drain = new SpinWait();
        while (Volatile.Read(ref consumed.Value) != sent)
            drain.SpinOnce(sleep1Threshold: -1);
    }
}

/// <summary>
/// The floor for a round trip between two cores: two threads (pinned to CPUs 0 and 1 where
/// possible) bouncing a counter on one shared cache line with volatile loads and stores, a pause
/// instruction between polls as Psyne's spin policy does.
/// </summary>
public sealed class VolatilePingPong : IDisposable
{
    private readonly long[] _line = new long[32]; // [8] ping, [9] pong: one cache line, away from the array header
    private readonly Thread _echo;
    private readonly int _echoCpu;
    private long _sequence;

    public VolatilePingPong(int echoCpu)
    {
        _echoCpu = echoCpu;
        _echo = new Thread(Echo) { IsBackground = true, Name = "pingpong-echo" };
        _echo.Start();
    }

    public void RoundTrip()
    {
        long s = ++_sequence;
        Volatile.Write(ref _line[8], s);
        while (Volatile.Read(ref _line[9]) != s)
            Pause();
    }

    private void Echo()
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(_echoCpu);
        long last = 0;
        while (true)
        {
            long s;
            while ((s = Volatile.Read(ref _line[8])) == last)
                Pause();
            if (s < 0)
                return;
            Volatile.Write(ref _line[9], s);
            last = s;
        }
    }

    private static void Pause()
    {
        if (X86Base.IsSupported)
            X86Base.Pause();
    }

    public void Dispose()
    {
        Volatile.Write(ref _line[8], -1);
        _echo.Join();
    }
}

/// <summary>The other end of a pipe ping-pong or stream: writes fixed-size messages to a child's stdin and reads its stdout.</summary>
public sealed class PipeClient(Stream toChild, Stream fromChild, int size)
{
    private readonly byte[] _out = new byte[size];
    private readonly byte[] _in = new byte[size];
    private ulong _sequence;

    public void RoundTrip()
    {
        SequencedPayload.Fill(_out, ++_sequence);
        toChild.Write(_out);
        toChild.Flush();
        fromChild.ReadExactly(_in);
        if (SequencedPayload.SequenceOf(_in) != _sequence)
            throw new InvalidOperationException($"pipe echo returned message {SequencedPayload.SequenceOf(_in)}, expected {_sequence}");
    }

    /// <summary>Writes <paramref name="count"/> messages, one write call each.</summary>
    public void Stream(long count)
    {
        for (long i = 0; i < count; i++)
        {
            SequencedPayload.Fill(_out, _sequence++);
            toChild.Write(_out);
        }
        toChild.Flush();
    }
}
