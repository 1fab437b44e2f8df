using BenchmarkDotNet.Running;

namespace Psyne.Benchmarks;

/// <summary>
/// Runs the BenchmarkDotNet suites: <c>dotnet run -c Release --project benchmarks/Psyne.Benchmarks -- --filter '*'</c>
/// (or <c>./build.sh --target=Bench</c>). Each suite puts the peer in the same class as the
/// baseline, so the table's Ratio column compares them within one run.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
