using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Benchmarks.Peers;
using Psyne.Cli.Commands;
using Psyne.Messaging;

namespace Psyne.Cli.Bench;

/// <summary>
/// Zero-copy channels against their closest peers, each pair in the same run: System.Threading.Channels
/// and a hand-rolled ring in one process; a pipe, NetMQ's ipc:// and libzmq's ipc:// to a child
/// process (ChildStreams); a cache line bounced between two pinned threads (the floor for any
/// cross-core round trip); Buffer.MemoryCopy. The ipc cases run a second real process
/// (<c>psyne channel-peer</c>) that checks every byte it reads. In every case Psyne and its peers
/// are measured in turn, <see cref="Rounds"/> rounds, each keeping its best (the highest rate, the
/// lowest median round trip): interference from the rest of the machine only ever slows a round
/// down, and a two-thread figure on a shared machine swings by several times between seconds.
/// </summary>
public sealed class ChannelSuite : IBenchSuite
{
    private const int Small = 64;
    private const int Large = 1 << 20;

    /// <summary>Interleaved rounds per implementation and case; each keeps its best (as the sockets suite does).</summary>
    public const int Rounds = 3;

    public string Name => "channel";

    public string Description => "zero-copy channels: inproc vs System.Threading.Channels, ipc vs pipes, round trips vs a shared cache line, 1 MiB vs memcpy";

    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget) => Cases(budget, "");

    public bool FiltersCases => true;

    /// <summary>The groups of cases with a row whose name contains <paramref name="filter"/> (e.g. "inproc", "ping-pong", "1 MiB").</summary>
    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget, string filter)
    {
        bool Wanted(params string[] rows) => filter.Length == 0 || rows.Any(row => row.Contains(filter, StringComparison.OrdinalIgnoreCase));
        if (Wanted("inproc SPSC 64 B, 2 threads", "inproc SPSC 64 B structs"))
            yield return () => InprocThroughput(budget);
        if (Wanted("ipc SPSC 64 B, 2 processes"))
            yield return () => IpcThroughput(budget);
        if (Environment.ProcessorCount >= 2 && Wanted("ipc ping-pong 64 B, spin policy"))
            yield return () => SpinRoundTrip(budget);
        if (Wanted("ipc ping-pong 64 B, futex policy", "ipc ping-pong 64 B, default policy"))
            yield return () => FutexRoundTrip(budget);
        if (Wanted("ipc 1 MiB messages"))
            yield return () => LargeMessages(budget);
    }

    private static string Unique(string label) => $"bench-{Environment.ProcessId}-{label}";

    private IEnumerable<BenchResult> InprocThroughput(TimeSpan budget)
    {
        // Producer (this thread) on CPU 0, consumer on CPU 1, for both; unpinned on a 1-CPU machine.
        int consumerCpu = Environment.ProcessorCount >= 2 ? 1 : -1;
        using CpuAffinity.Scope? pin = consumerCpu > 0 ? CpuAffinity.Pin(0) : null;
        double small = double.MaxValue, large = double.MaxValue, batched = double.MaxValue, peer = double.MaxValue;
        double limit = double.MaxValue, largeLimit = double.MaxValue; // the hand-rolled ring's, 16 and 64 KiB
        // Two ring sizes: one that fits in a core's L1 data cache (32-48 KiB on current x86) with
        // everything else, and one that does not; docs/channels.md ("Choosing a capacity") says why.
        using (var l1Ring = new PsyneInprocSpsc(Unique("inproc-16k"), capacity: SmallRing, size: Small, consumerCpu: consumerCpu))
        using (var l2Ring = new PsyneInprocSpsc(Unique("inproc-64k"), capacity: 64 << 10, size: Small, consumerCpu: consumerCpu))
        using (var batches = new PsyneInprocSpsc(Unique("inproc-batch"), capacity: 64 << 10, size: Small, consumerCpu: consumerCpu, batch: true))
        using (var stc = new ThreadingChannelsSpsc(capacity: 1024, consumerCpu: consumerCpu))
        using (var handRolled = new HandRolledRing(SmallRing, consumerCpu: consumerCpu))
        using (var handRolledLarge = new HandRolledRing(64 << 10, consumerCpu: consumerCpu))
        {
            for (int round = 0; round < Rounds; round++)
            {
                small = Math.Min(small, Measure.SecondsPerOperation(n => l1Ring.Send(n), budget));
                large = Math.Min(large, Measure.SecondsPerOperation(n => l2Ring.Send(n), budget));
                batched = Math.Min(batched, Measure.SecondsPerOperation(n => batches.Send(n), budget));
                peer = Math.Min(peer, Measure.SecondsPerOperation(n => stc.Send(n), budget));
                limit = Math.Min(limit, Measure.SecondsPerOperation(n => handRolled.Send(n), budget));
                largeLimit = Math.Min(largeLimit, Measure.SecondsPerOperation(n => handRolledLarge.Send(n), budget));
            }
            ThrowIfWrong("Psyne (16 KiB ring)", l1Ring.Errors);
            ThrowIfWrong("Psyne (64 KiB ring)", l2Ring.Errors);
            ThrowIfWrong("Psyne batch", batches.Errors);
            ThrowIfWrong("System.Threading.Channels", stc.Errors);
            ThrowIfWrong("hand-rolled ring", handRolled.Errors + handRolledLarge.Errors);
        }
        const string Stc = "System.Threading.Channels bounded(1024) SPSC";
        yield return BenchResult.Throughput(Name, "inproc SPSC 64 B, 2 threads on CPUs 0/1 (16 KiB ring, in place, 0 copies)", "M msg/s", 1e-6 / small,
            Stc, 1e-6 / peer) with { Target = 2.5, Note = AtLeast(1e-6 / small, 50, "M msg/s") };
        yield return BenchResult.Throughput(Name, "inproc SPSC 64 B, 2 threads on CPUs 0/1 (64 KiB ring, in place, 0 copies)", "M msg/s", 1e-6 / large,
            Stc, 1e-6 / peer) with { Target = 2.5, Note = AtLeast(1e-6 / large, 50, "M msg/s") };
        // The machine's limit for this protocol in this run: how far the host lets any per-message
        // ring go right now (docs/performance.md, "Reading the inproc figures"). No target: Psyne
        // checks what a hand-rolled ring trusts.
        const string HandRolled = "hand-rolled SPSC ring of the same 72-byte records, no API (benchmarks/Peers/HandRolledRing.cs)";
        yield return BenchResult.Throughput(Name, "inproc SPSC 64 B one at a time (16 KiB ring) against the same records hand-rolled", "M msg/s", 1e-6 / small,
            HandRolled, 1e-6 / limit);
        yield return BenchResult.Throughput(Name, "inproc SPSC 64 B one at a time (64 KiB ring) against the same records hand-rolled", "M msg/s", 1e-6 / large,
            HandRolled, 1e-6 / largeLimit);
        yield return BenchResult.Throughput(Name, "inproc SPSC 64 B structs, WriteBatch/TryReadBatch of 64 (1 copy each way)", "M msg/s", 1e-6 / batched,
            Stc, 1e-6 / peer) with { Target = 2.5, Note = AtLeast(1e-6 / batched, 50, "M msg/s") };
    }

    /// <summary>The ring size that fits in one core's L1 data cache beside the code's other data.</summary>
    private const int SmallRing = 16 << 10;

    private static void ThrowIfWrong(string who, long errors)
    {
        if (errors != 0)
            throw new InvalidOperationException($"the {who} consumer found {errors} wrong message(s)");
    }

    private IEnumerable<BenchResult> IpcThroughput(TimeSpan budget)
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(0);
        double pipe = double.MaxValue, netMq = double.MaxValue, zmq = double.MaxValue;
        bool haveZmq = LibZmq.IsAvailable;
        // The peers, after each Psyne round: the same messages sent to a child process one at a
        // time through a pipe, NetMQ's ipc:// and libzmq's ipc:// (ChildStreams).
        double psyne = IpcWriteRounds("spsc", 64 << 10, Small, budget, () =>
        {
            pipe = Math.Min(pipe, ChildStreams.Pipe(budget));
            netMq = Math.Min(netMq, ChildStreams.NetMqIpc(budget));
            if (haveZmq)
                zmq = Math.Min(zmq, ChildStreams.LibZmqIpc(budget));
        });
        NetMqPeers.Cleanup();
        const string Case = "ipc SPSC 64 B, 2 processes (64 KiB ring, 0 copies)";
        yield return BenchResult.Throughput(Name, Case, "M msg/s", 1e-6 / psyne,
            "anonymous pipe to a child, one write() per message", 1e-6 / pipe) with { Note = AtLeast(1e-6 / psyne, 20, "M msg/s") };
        yield return BenchResult.Throughput(Name, Case, "M msg/s", 1e-6 / psyne, ChildStreams.NetMqDescription, 1e-6 / netMq);
        yield return haveZmq
            ? BenchResult.Throughput(Name, Case, "M msg/s", 1e-6 / psyne, ChildStreams.LibZmqDescription, 1e-6 / zmq)
            : BenchResult.Throughput(Name, Case, "M msg/s", 1e-6 / psyne, "libzmq PUSH/PULL over ipc://", null) with
            {
                Note = $"unavailable: {LibZmq.UnavailableReason}",
            };
    }

    /// <summary>
    /// Best seconds per record of <see cref="Rounds"/> rounds of <see cref="WriteSequenced"/> into a
    /// new ipc channel read by a child process that checks every byte in place (its summary is
    /// checked at the end); <paramref name="peers"/> measures the peers after each round.
    /// </summary>
    private static double IpcWriteRounds(string label, long capacity, int size, TimeSpan budget, Action peers)
    {
        string uri = $"ipc://{Unique(label)}";
        double best = double.MaxValue;
        ulong sent = 0;
        using Channel channel = Channel.Create(uri, new ChannelOptions { Capacity = capacity }, ChannelRole.Producer);
        using Process reader = ChannelPeerCommand.Start("read", uri, "--cpu", "1");
        ChannelPeerCommand.WaitReady(reader);
        for (int round = 0; round < Rounds; round++)
        {
            best = Math.Min(best, Measure.SecondsPerOperation(n => sent = WriteSequenced(channel, size, n, sent), budget));
            peers();
        }
        channel.Dispose(); // the reader drains, sees the channel closed and reports
        ExpectSummary(reader, $"read {sent} errors 0 bytes {sent * (ulong)size}");
        return best;
    }

    private IEnumerable<BenchResult> SpinRoundTrip(TimeSpan budget)
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(0);
        double psyne = double.MaxValue, floor = double.MaxValue;
        using (var pingPong = new VolatilePingPong(echoCpu: 1))
        {
            for (int round = 0; round < Rounds; round++)
            {
                psyne = Math.Min(psyne, IpcRoundTrip(new ChannelOptions { Capacity = 4096, WaitPolicy = WaitPolicy.Spin }, "spin", budget));
                floor = Math.Min(floor, RoundTrips.MedianNanoseconds(pingPong.RoundTrip, budget));
            }
        }
        yield return BenchResult.Latency(Name, "ipc ping-pong 64 B, spin policy, 2 processes on CPUs 0/1 (median round trip)", "ns", psyne,
            "one cache line bounced by 2 threads on CPUs 0/1 (Volatile)", floor) with { Target = 0.2, Note = AtMost(psyne, 1000, "ns") };
    }

    private IEnumerable<BenchResult> FutexRoundTrip(TimeSpan budget)
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(0);
        // No spinning or yielding: every wait sleeps on the futex, as a pipe read sleeps in the kernel.
        var sleepAtOnce = new ChannelOptions { Capacity = 4096, WaitPolicy = WaitPolicy.SpinYieldFutex, SpinCount = 0, YieldCount = 0 };
        double psyne = double.MaxValue, defaults = double.MaxValue, pipe = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            psyne = Math.Min(psyne, IpcRoundTrip(sleepAtOnce, "futex", budget));
            defaults = Math.Min(defaults, IpcRoundTrip(new ChannelOptions { Capacity = 4096 }, "default", budget));
            pipe = Math.Min(pipe, PipeRoundTrip(budget));
        }
        yield return BenchResult.Latency(Name, "ipc ping-pong 64 B, futex policy (no spin), 2 processes (median round trip)", "ns", psyne,
            "pipe ping-pong with a child process", pipe) with { Target = 1.0 };
        yield return BenchResult.Latency(Name, "ipc ping-pong 64 B, default policy (spin, yield, then futex), 2 processes (median round trip)", "ns", defaults,
            "pipe ping-pong with a child process", pipe);
    }

    /// <summary>Median round trip of 64 bytes through a pipe to an echoing child process and back.</summary>
    private static double PipeRoundTrip(TimeSpan budget)
    {
        using Process echo = ChannelPeerCommand.Start("pipe-echo", "--size", "64", "--cpu", "1");
        ChannelPeerCommand.WaitReady(echo);
        var client = new PipeClient(echo.StandardInput.BaseStream, echo.StandardOutput.BaseStream, Small);
        double median = RoundTrips.MedianNanoseconds(client.RoundTrip, budget);
        echo.StandardInput.Close();
        echo.WaitForExit(10_000);
        return median;
    }

    /// <summary>Median round trip through two ipc channels and an echoing child process.</summary>
    private static double IpcRoundTrip(ChannelOptions options, string label, TimeSpan budget)
    {
        string ping = $"ipc://{Unique(label + "-ping")}", pong = $"ipc://{Unique(label + "-pong")}";
        using Channel to = Channel.Create(ping, options, ChannelRole.Producer);
        using Channel from = Channel.Create(pong, options, ChannelRole.Consumer);
        using Process echo = ChannelPeerCommand.Start("echo", ping, pong, "--cpu", "1");
        ChannelPeerCommand.WaitReady(echo);
        ulong sequence = 0;
        double median = RoundTrips.MedianNanoseconds(() =>
        {
            ChannelReservation r = to.Reserve(Small);
            SequencedPayload.Fill(r.Span, ++sequence);
            r.Commit();
            ChannelMessage m = from.Read();
            bool ok = SequencedPayload.SequenceOf(m.Payload) == sequence;
            m.Release();
            if (!ok)
                throw new InvalidOperationException($"the echo returned a wrong message for {sequence}");
        }, budget);
        to.Dispose();
        ExpectSummary(echo, $"echoed {sequence}");
        return median;
    }

    private unsafe IEnumerable<BenchResult> LargeMessages(TimeSpan budget)
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(0);
        // Peers: memcpy of one hot 1 MiB block (cache-resident), and of 1 MiB blocks rotating
        // over 16 MiB, the footprint of the ring.
        const int footprint = 16 << 20;
        using NativeBuffer source = NativeBuffer.Allocate(footprint, 4096);
        using NativeBuffer destination = NativeBuffer.Allocate(footprint, 4096);
        source.Span.Fill(7);
        destination.Span.Fill(0);
        // Native memory: the addresses do not move.
        nint from = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(source.Span));
        nint to = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(destination.Span));
        double hot = double.MaxValue, rotating = double.MaxValue;
        long block = 0;
        double psyne = IpcWriteRounds("large", 16 << 20, Large, budget, () =>
        {
            hot = Math.Min(hot, Measure.SecondsPerOperation(n =>
            {
                for (long i = 0; i < n; i++)
                    Buffer.MemoryCopy((void*)from, (void*)to, Large, Large);
            }, budget));
            rotating = Math.Min(rotating, Measure.SecondsPerOperation(n =>
            {
                for (long i = 0; i < n; i++)
                {
                    nint offset = (nint)(block++ % (footprint / Large) * Large);
                    Buffer.MemoryCopy((void*)(from + offset), (void*)(to + offset), Large, Large);
                }
            }, budget));
        });
        const string @case = "ipc 1 MiB messages filled in place, every byte read by another process (16 MiB ring, 0 copies)";
        return [
            BenchResult.Throughput(Name, @case, "GB/s", Large / psyne / 1e9, "Buffer.MemoryCopy of 1 MiB blocks over 16 MiB, one thread", Large / rotating / 1e9) with { Target = 0.5 },
            BenchResult.Throughput(Name, @case, "GB/s", Large / psyne / 1e9, "Buffer.MemoryCopy of one hot 1 MiB block, one thread", Large / hot / 1e9) with { Target = 0.5 },
        ];
    }

    /// <summary>
    /// Writes <paramref name="count"/> records of <paramref name="size"/> bytes, numbered from
    /// <paramref name="first"/>, each filled in place (the reader process checks every byte in
    /// place), then waits until the reader has taken them all. Returns the next number.
    /// </summary>
    private static ulong WriteSequenced(Channel channel, int size, long count, ulong first)
    {
        ulong sequence = first;
        for (long i = 0; i < count; i++)
        {
            ChannelReservation r = channel.Reserve(size);
            SequencedPayload.Fill(r.Span, sequence++);
            r.Commit();
        }
        WaitDrained(channel);
        return sequence;
    }

    /// <summary>The note of a row whose target is an absolute figure (issue 4), not a ratio.</summary>
    private static string AtLeast(double value, double target, string unit) =>
        $"target >= {target} {unit}: {(value >= target ? "met" : "not met")}";

    private static string AtMost(double value, double target, string unit) =>
        $"target <= {target} {unit}: {(value <= target ? "met" : "not met")}";

    private static void WaitDrained(Channel channel)
    {
        var spin = new SpinWait();
        while (channel.GetStatistics().UsedBytes != 0)
            spin.SpinOnce(sleep1Threshold: -1);
    }

    private static void ExpectSummary(Process peer, string expected)
    {
        ChannelPeerCommand.ExpectLine(peer, expected, TimeSpan.FromSeconds(60));
        peer.WaitForExit(10_000);
    }
}

