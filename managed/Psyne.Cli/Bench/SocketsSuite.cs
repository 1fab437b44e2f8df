using Psyne.Benchmarks.Peers;

namespace Psyne.Cli.Bench;

/// <summary>
/// Psyne's ZeroMQ-compatible sockets (Psyne.Sockets) against libzmq, NetMQ and raw
/// System.Net.Sockets (the ceilings: whole 64 KiB blocks, 32 B messages framed as ZMTP frames them
/// and packed into 64 KiB sends, a 1-byte ping-pong), over loopback tcp, two threads of this
/// process; plus, for information, Psyne and libzmq over a unix socket and in process.
/// </summary>
/// <remarks>
/// <para>
/// The method, so that one noisy moment does not decide a ratio: for each case, every
/// implementation's peer is set up once (sockets connected, threads started), then the
/// implementations are measured in turn, round after round (<see cref="Rounds"/> rounds: Psyne,
/// libzmq, NetMQ, raw TCP, Psyne, libzmq, ...). Each measurement takes the whole budget
/// (<c>--budget-ms</c>): for throughput, the median of 7 timed batches of messages; for round
/// trips, the median of every round trip timed in the budget. An implementation's value is its
/// best round (the highest throughput, the lowest median): interference from the rest of the
/// machine only ever slows a round down, so the best round is the closest to what the
/// implementation does, and every implementation is treated alike.
/// </para>
/// <para>
/// Some rows carry a target (<see cref="SocketScenario.Targets"/>): the ratio Psyne must reach
/// against that peer; the table and the JSON say whether this run met it.
/// </para>
/// </remarks>
public sealed class SocketsSuite : IBenchSuite
{
    /// <summary>Interleaved rounds per implementation and case; each implementation keeps its best.</summary>
    public const int Rounds = 3;

    private const string LibZmqName = "libzmq";
    private const string NetMqName = "NetMQ";
    private const string RawName = "raw TCP";

    /// <summary>The cases: what is measured the same way for every implementation.</summary>
    public static IReadOnlyList<SocketScenario> Scenarios { get; } =
    [
        new(SocketScenarioKind.Throughput, SocketTransport.Tcp, 32, "tcp PUSH/PULL, 32 B messages, 2 threads", "M msg/s",
            new Dictionary<string, double> { [LibZmqName] = 1.2 }),
        new(SocketScenarioKind.Throughput, SocketTransport.Tcp, 64 << 10, "tcp PUSH/PULL, 64 KiB messages, 2 threads", "GB/s",
            new Dictionary<string, double> { [LibZmqName] = 1.0, [RawName] = 0.9 }),
        new(SocketScenarioKind.RoundTrip, SocketTransport.Tcp, 32, "tcp REQ/REP round trip, 32 B, 2 threads (median)", "µs",
            new Dictionary<string, double> { [LibZmqName] = 1.0 }),
        new(SocketScenarioKind.Throughput, SocketTransport.Unix, 32, "unix-socket PUSH/PULL, 32 B messages, 2 threads (information)", "M msg/s"),
        new(SocketScenarioKind.Throughput, SocketTransport.Inproc, 32, "inproc PUSH/PULL, 32 B messages, 2 threads (information)", "M msg/s"),
    ];

    public string Name => "sockets";

    public string Description => "ZeroMQ-style sockets over loopback tcp: Psyne vs libzmq, NetMQ and raw TCP";

    public string Method =>
        $"sockets: each implementation measured {Rounds} times, interleaved (Psyne, libzmq, NetMQ, raw TCP, Psyne, ...); each keeps its best round. " +
        "Target: the ratio Psyne must reach against that peer (for the round trip, a ratio of 1x or more means Psyne's median is no higher).";

    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget)
    {
        foreach (SocketScenario scenario in Scenarios)
            yield return () => Run(scenario, budget);
    }

    private IEnumerable<BenchResult> Run(SocketScenario scenario, TimeSpan budget)
    {
        var entries = new List<Entry>();
        try
        {
            foreach (SocketRowProvider provider in SocketRowProviders.All)
            {
                if (!provider.Covers(scenario))
                    continue;
                if (provider.Unavailable() is { } reason)
                {
                    entries.Add(new Entry(provider) { Note = $"unavailable: {reason}" });
                    continue;
                }
                entries.Add(new Entry(provider) { Peer = provider.Create(scenario) });
            }
            for (int round = 0; round < Rounds; round++)
            {
                foreach (Entry e in entries)
                {
                    if (e.Peer is null)
                        continue;
                    double value = MeasureOnce(e.Peer, scenario, budget);
                    bool better = scenario.Kind == SocketScenarioKind.Throughput ? value > (e.Best ?? double.MinValue) : value < (e.Best ?? double.MaxValue);
                    if (better)
                        e.Best = value;
                }
            }
            foreach (Entry e in entries)
                e.Name = e.Peer?.Description ?? e.Provider.Name;
        }
        finally
        {
            foreach (Entry e in entries)
                e.Peer?.Dispose();
            foreach (SocketRowProvider provider in entries.Select(e => e.Provider).Distinct())
                provider.AfterRun?.Invoke();
        }

        Entry? psyne = entries.FirstOrDefault(e => e.Provider.IsPsyne);
        double psyneValue = psyne?.Best ?? double.NaN;
        string? psyneNote = psyne is { Best: null } ? $"Psyne {psyne.Note}" : null;
        var rows = new List<BenchResult>();
        foreach (Entry peer in entries.Where(e => !e.Provider.IsPsyne))
        {
            BenchResult row = scenario.Kind == SocketScenarioKind.Throughput
                ? BenchResult.Throughput(Name, scenario.Case, scenario.Unit, psyneValue, peer.Name, peer.Best)
                : BenchResult.Latency(Name, scenario.Case, scenario.Unit, psyneValue, peer.Name, peer.Best);
            double? target = scenario.Targets is { } t && t.TryGetValue(peer.Provider.Name, out double x) ? x : null;
            rows.Add(row with { Note = peer.Note ?? psyneNote, Target = target });
        }
        return rows;
    }

    /// <summary>One measurement of <paramref name="peer"/> with the whole budget: M msg/s, GB/s or a median in µs.</summary>
    private static double MeasureOnce(ISocketPeer peer, SocketScenario scenario, TimeSpan budget)
    {
        if (peer is IThroughputPeer throughput)
        {
            double seconds = Measure.SecondsPerOperation(throughput.Send, budget);
            if (throughput.Errors != 0)
                throw new InvalidOperationException($"{throughput.Description}: the receiver found {throughput.Errors} wrong message(s)");
            return scenario.Unit == "GB/s" ? throughput.MessageSize / seconds / 1e9 : 1e-6 / seconds;
        }
        var roundTrip = (IRoundTripPeer)peer;
        return RoundTrips.MedianNanoseconds(roundTrip.RoundTrip, budget, maxSamples: 100_000) / 1e3;
    }

    /// <summary>One implementation in one case: its peer while the case runs, then its best round.</summary>
    private sealed class Entry(SocketRowProvider provider)
    {
        public SocketRowProvider Provider { get; } = provider;

        public ISocketPeer? Peer { get; init; }

        public string Name { get; set; } = provider.Name;

        public double? Best { get; set; }

        public string? Note { get; init; }
    }
}

/// <summary>How a sockets case is measured.</summary>
public enum SocketScenarioKind
{
    /// <summary>One-way messages per second (or bytes), higher is better.</summary>
    Throughput,

    /// <summary>A median round trip, lower is better.</summary>
    RoundTrip,
}

/// <summary>Where a sockets case runs.</summary>
[Flags]
public enum SocketTransport
{
    /// <summary>Loopback tcp (ZMTP over TCP).</summary>
    Tcp = 1,

    /// <summary>A unix domain socket (Psyne's unix://, libzmq's ipc://).</summary>
    Unix = 2,

    /// <summary>In process (inproc://): no wire.</summary>
    Inproc = 4,
}

/// <summary>
/// One case of <c>psyne bench sockets</c>. <paramref name="Targets"/>: by provider name, the
/// ratio Psyne must reach against that peer (null or absent: no target).
/// </summary>
public sealed record SocketScenario(
    SocketScenarioKind Kind, SocketTransport Transport, int MessageSize, string Case, string Unit,
    IReadOnlyDictionary<string, double>? Targets = null);

/// <summary>
/// One implementation measured in the sockets cases: a factory per kind of case (null where it
/// has none), taking the transport and the message size; the transports it runs over; a check for
/// whether it can run on this machine (null: it can; else the reason); and what to do once its
/// peer of a case is disposed.
/// </summary>
public sealed record SocketRowProvider(
    string Name,
    bool IsPsyne,
    Func<string?> Unavailable,
    Func<SocketTransport, int, IThroughputPeer>? Throughput,
    Func<int, IRoundTripPeer>? RoundTrip,
    SocketTransport Transports = SocketTransport.Tcp,
    Action? AfterRun = null)
{
    /// <summary>Whether this implementation runs <paramref name="scenario"/> (round trips are over tcp).</summary>
    public bool Covers(SocketScenario scenario) =>
        (Transports & scenario.Transport) != 0 &&
        (scenario.Kind == SocketScenarioKind.Throughput ? Throughput is not null : RoundTrip is not null && scenario.Transport == SocketTransport.Tcp);

    /// <summary>Sets up this implementation's peer for <paramref name="scenario"/>.</summary>
    public ISocketPeer Create(SocketScenario scenario) => scenario.Kind == SocketScenarioKind.Throughput
        ? Throughput!(scenario.Transport, scenario.MessageSize)
        : RoundTrip!(scenario.MessageSize);
}

/// <summary>Every implementation <c>psyne bench sockets</c> measures; the Psyne provider first, so each round starts with it.</summary>
public static class SocketRowProviders
{
    public static IReadOnlyList<SocketRowProvider> All { get; } =
    [
        new("Psyne", IsPsyne: true,
            () => null,
            (transport, size) => transport switch
            {
                SocketTransport.Unix => new PsyneUnixPushPull(size),
                SocketTransport.Inproc => new PsyneInprocPushPull(size),
                _ => new PsyneTcpPushPull(size),
            },
            size => new PsyneTcpReqRep(size),
            Transports: SocketTransport.Tcp | SocketTransport.Unix | SocketTransport.Inproc),
        new("libzmq", IsPsyne: false,
            () => LibZmq.IsAvailable ? null : $"{LibZmq.LibraryName} not found",
            (transport, size) => transport switch
            {
                SocketTransport.Unix => LibZmqUnixPushPull.Create(size),
                SocketTransport.Inproc => new LibZmqPushPull(size, $"inproc://psyne-bench-{Environment.ProcessId}-{Guid.NewGuid():N}"),
                _ => new LibZmqPushPull(size),
            },
            size => new LibZmqReqRep(size),
            Transports: SocketTransport.Tcp | SocketTransport.Unix | SocketTransport.Inproc),
        new("NetMQ", IsPsyne: false,
            () => null,
            (_, size) => new NetMqTcpPushPull(size),
            size => new NetMqTcpReqRep(size),
            AfterRun: NetMqPeers.Cleanup),
        new("raw TCP", IsPsyne: false,
            () => null,
            // Small messages: ZMTP-framed records batched into 64 KiB sends; large: one send per message.
            (_, size) => size <= 255 ? new RawTcpFramed(size) : new RawTcpBlocks(size),
            _ => new RawTcpPingPong()),
    ];
}

/// <summary>libzmq PUSH/PULL over a unix socket (libzmq's ipc://) whose file is removed with it.</summary>
internal sealed class LibZmqUnixPushPull(LibZmqPushPull inner, string path) : IThroughputPeer
{
    public static LibZmqUnixPushPull Create(int size)
    {
        string path = Path.Combine(Path.GetTempPath(), $"psyne-bench-zmq-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        return new LibZmqUnixPushPull(new LibZmqPushPull(size, "ipc://" + path), path);
    }

    public string Description => inner.Description;

    public int MessageSize => inner.MessageSize;

    public long Errors => inner.Errors;

    public void Send(long count) => inner.Send(count);

    public void Dispose()
    {
        inner.Dispose();
        File.Delete(path);
    }
}
