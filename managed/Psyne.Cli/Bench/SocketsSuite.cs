using Psyne.Benchmarks.Peers;

namespace Psyne.Cli.Bench;

/// <summary>
/// ZeroMQ-style sockets over loopback tcp, two threads of this process: libzmq, NetMQ and raw
/// System.Net.Sockets (the ceilings: whole 64 KiB blocks, 32 B messages framed as ZMTP frames them
/// and packed into 64 KiB sends, a 1-byte ping-pong). Each case measures every
/// <see cref="SocketRowProvider"/> that covers it; Psyne's own sockets join as one more provider
/// (<see cref="SocketRowProvider.IsPsyne"/>), and then every peer row gets Psyne's value and the ratio.
/// Until then the peers are measured alone (Psyne's column says n/a).
/// </summary>
public sealed class SocketsSuite : IBenchSuite
{
    /// <summary>The cases: what is measured the same way for every implementation.</summary>
    public static IReadOnlyList<SocketScenario> Scenarios { get; } =
    [
        new(SocketScenarioKind.Throughput, 32, "tcp PUSH/PULL, 32 B messages, 2 threads", "M msg/s"),
        new(SocketScenarioKind.Throughput, 64 << 10, "tcp PUSH/PULL, 64 KiB messages, 2 threads", "GB/s"),
        new(SocketScenarioKind.RoundTrip, 32, "tcp REQ/REP round trip, 32 B, 2 threads (median)", "µs"),
    ];

    public string Name => "sockets";

    public string Description => "ZeroMQ-style sockets over loopback tcp: libzmq, NetMQ and raw TCP peers";

    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget)
    {
        foreach (SocketScenario scenario in Scenarios)
            yield return () => Run(scenario, budget);
    }

    private IEnumerable<BenchResult> Run(SocketScenario scenario, TimeSpan budget)
    {
        var measured = new List<(SocketRowProvider Provider, string Name, double? Value, string? Note)>();
        foreach (SocketRowProvider provider in SocketRowProviders.All)
        {
            if (!provider.Covers(scenario))
                continue;
            if (provider.Unavailable() is { } reason)
            {
                measured.Add((provider, provider.Name, null, $"unavailable: {reason}"));
                continue;
            }
            (string name, double value) = MeasureOne(provider, scenario, budget);
            provider.AfterRun?.Invoke();
            measured.Add((provider, name, value, null));
        }

        var psyne = measured.FirstOrDefault(m => m.Provider.IsPsyne);
        double psyneValue = psyne.Value ?? double.NaN;
        string? psyneNote = psyne.Provider is not null && psyne.Value is null ? $"Psyne {psyne.Note}" : null;
        foreach (var peer in measured.Where(m => !m.Provider.IsPsyne))
        {
            BenchResult row = scenario.Kind == SocketScenarioKind.Throughput
                ? BenchResult.Throughput(Name, scenario.Case, scenario.Unit, psyneValue, peer.Name, peer.Value)
                : BenchResult.Latency(Name, scenario.Case, scenario.Unit, psyneValue, peer.Name, peer.Value);
            yield return row with { Note = peer.Note ?? psyneNote };
        }
    }

    private static (string Name, double Value) MeasureOne(SocketRowProvider provider, SocketScenario scenario, TimeSpan budget)
    {
        if (scenario.Kind == SocketScenarioKind.Throughput)
        {
            using IThroughputPeer peer = provider.Throughput!(scenario.MessageSize);
            double seconds = Measure.SecondsPerOperation(peer.Send, budget);
            if (peer.Errors != 0)
                throw new InvalidOperationException($"{peer.Description}: the receiver found {peer.Errors} wrong message(s)");
            double value = scenario.Unit == "GB/s" ? peer.MessageSize / seconds / 1e9 : 1e-6 / seconds;
            return (peer.Description, value);
        }
        using (IRoundTripPeer peer = provider.RoundTrip!(scenario.MessageSize))
            return (peer.Description, RoundTrips.MedianNanoseconds(peer.RoundTrip, budget, maxSamples: 100_000) / 1e3);
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

/// <summary>One case of <c>psyne bench sockets</c>.</summary>
public sealed record SocketScenario(SocketScenarioKind Kind, int MessageSize, string Case, string Unit);

/// <summary>
/// One implementation measured in the sockets cases: a factory per kind of case (null where it
/// has none), a check for whether it can run on this machine (null: it can; else the reason), and
/// what to do once its peer of a case is disposed.
/// </summary>
public sealed record SocketRowProvider(
    string Name,
    bool IsPsyne,
    Func<string?> Unavailable,
    Func<int, IThroughputPeer>? Throughput,
    Func<int, IRoundTripPeer>? RoundTrip,
    Action? AfterRun = null)
{
    public bool Covers(SocketScenario scenario) =>
        scenario.Kind == SocketScenarioKind.Throughput ? Throughput is not null : RoundTrip is not null;
}

/// <summary>Every implementation <c>psyne bench sockets</c> measures.</summary>
public static class SocketRowProviders
{
    public static IReadOnlyList<SocketRowProvider> All { get; } =
    [
        // Psyne.Sockets rows are added by the sockets change: a provider with IsPsyne: true.
        new("libzmq", IsPsyne: false,
            () => LibZmq.IsAvailable ? null : $"{LibZmq.LibraryName} not found",
            size => new LibZmqPushPull(size),
            size => new LibZmqReqRep(size)),
        new("NetMQ", IsPsyne: false,
            () => null,
            size => new NetMqTcpPushPull(size),
            size => new NetMqTcpReqRep(size),
            AfterRun: NetMqPeers.Cleanup),
        new("raw TCP", IsPsyne: false,
            () => null,
            // Small messages: ZMTP-framed records batched into 64 KiB sends; large: one send per message.
            size => size <= 255 ? new RawTcpFramed(size) : new RawTcpBlocks(size),
            _ => new RawTcpPingPong()),
    ];
}
