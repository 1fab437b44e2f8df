using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Cli.Bench;

/// <summary>The cost of one call into libpsyne, with and without the GC transition.</summary>
public sealed class InteropSuite : IBenchSuite
{
    public string Name => "interop";

    public string Description => "ns per P/Invoke of a PSYNE_HOT function, with SuppressGCTransition vs without";

    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget)
    {
        yield return () => Run(budget);
    }

    private IEnumerable<BenchResult> Run(TimeSpan budget)
    {
        _ = PsyneRuntime.SelectedIsa; // loads libpsyne before timing
        uint sink = 0;
        double hot = Measure.SecondsPerOperation(n => { for (long i = 0; i < n; i++) sink += PsyneNative.psyne_version(); }, budget);
        double plain = Measure.SecondsPerOperation(n => { for (long i = 0; i < n; i++) sink += TransitionProbe.VersionWithGcTransition(); }, budget);
        GC.KeepAlive(sink);
        yield return BenchResult.Latency(Name, "hot call (SuppressGCTransition)", "ns", hot * 1e9, "same call with GC transition", plain * 1e9);
    }
}
