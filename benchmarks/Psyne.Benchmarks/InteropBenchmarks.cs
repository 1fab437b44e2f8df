using BenchmarkDotNet.Attributes;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Benchmarks;

/// <summary>
/// The cost of a call into libpsyne: the same tiny function (psyne_version) bound with
/// [SuppressGCTransition] (what PSYNE_HOT generates) and without it (the baseline).
/// </summary>
[MemoryDiagnoser]
public class InteropBenchmarks
{
    private const int CallsPerInvoke = 1000;

    [GlobalSetup]
    public void Setup() => _ = PsyneRuntime.SelectedIsa; // loads libpsyne

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerInvoke)]
    public uint WithGcTransition()
    {
        uint sum = 0;
        for (int i = 0; i < CallsPerInvoke; i++)
            sum += TransitionProbe.VersionWithGcTransition();
        return sum;
    }

    [Benchmark(OperationsPerInvoke = CallsPerInvoke)]
    public uint SuppressGcTransition()
    {
        uint sum = 0;
        for (int i = 0; i < CallsPerInvoke; i++)
            sum += PsyneNative.psyne_version();
        return sum;
    }
}
