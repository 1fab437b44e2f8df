namespace Psyne.Cli.Bench;

/// <summary>
/// One measured case. <see cref="Ratio"/> is how many times better Psyne did than the peer
/// in the same run (above 1 is better), whatever the unit's direction; null without a peer.
/// <see cref="Value"/> is NaN where a suite measures a peer whose Psyne side is not written yet
/// (printed as null in JSON), and <see cref="Note"/> says why a value is missing.
/// </summary>
public sealed record BenchResult(
    string Suite, string Case, string Unit, double Value, string? Peer, double? PeerValue, double? Ratio)
{
    /// <summary>Why <see cref="Value"/> or <see cref="PeerValue"/> is missing (e.g. "unavailable: libzmq.so.5 not found"), or how the peer value was made up; null when there is nothing to say.</summary>
    public string? Note { get; init; }

    /// <summary>The <see cref="Ratio"/> Psyne is meant to reach against this peer (e.g. 1.2: 20 % better); null when the case sets none.</summary>
    public double? Target { get; init; }

    /// <summary>Whether this run met <see cref="Target"/>: null without a target or without a ratio.</summary>
    public bool? TargetMet => Target is { } t && Ratio is { } r ? r >= t : null;

    /// <summary>A result for a higher-is-better unit (GB/s, M msg/s).</summary>
    public static BenchResult Throughput(string suite, string @case, string unit, double value, string? peer, double? peerValue) =>
        new(suite, @case, unit, value, peer, peerValue, double.IsFinite(value) && peerValue is > 0 ? value / peerValue : null);

    /// <summary>A result for a lower-is-better unit (ns, µs).</summary>
    public static BenchResult Latency(string suite, string @case, string unit, double value, string? peer, double? peerValue) =>
        new(suite, @case, unit, value, peer, peerValue, value > 0 && peerValue is not null ? peerValue / value : null);
}
