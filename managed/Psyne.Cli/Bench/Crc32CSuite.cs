using System.IO.Hashing;
using Psyne.Benchmarks.Peers;

namespace Psyne.Cli.Bench;

/// <summary>CRC32C throughput against the .NET peers: a BitOperations.Crc32C loop and System.IO.Hashing.Crc32.</summary>
public sealed class Crc32CSuite : IBenchSuite
{
    private static readonly int[] Sizes = [64, 4096, 64 * 1024, 1024 * 1024];

    public string Name => "crc32c";

    public string Description => "CRC32C GB/s vs a BitOperations.Crc32C loop and System.IO.Hashing.Crc32";

    public IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budget)
    {
        foreach (int size in Sizes)
            yield return () => Run(size, budget);
    }

    private IEnumerable<BenchResult> Run(int size, TimeSpan budget)
    {
        byte[] data = new byte[size];
        new Random(42).NextBytes(data);
        uint expected = Crc32CPeers.BitOperationsLoop(data);
        if (Crc32C.Compute(data) != expected)
            throw new InvalidOperationException($"Psyne's CRC32C disagrees with the BitOperations loop at {size} bytes.");

        uint sink = 0;
        double psyne = GigabytesPerSecond(size, Measure.SecondsPerOperation(n => { for (long i = 0; i < n; i++) sink ^= Crc32C.Compute(data); }, budget));
        double loop = GigabytesPerSecond(size, Measure.SecondsPerOperation(n => { for (long i = 0; i < n; i++) sink ^= Crc32CPeers.BitOperationsLoop(data); }, budget));
        double hashing = GigabytesPerSecond(size, Measure.SecondsPerOperation(n => { for (long i = 0; i < n; i++) sink ^= Crc32.HashToUInt32(data); }, budget));
        GC.KeepAlive(sink);

        string @case = $"{FormatSize(size)} ({Crc32C.SelectedVariant})";
        yield return BenchResult.Throughput(Name, @case, "GB/s", psyne, "BitOperations.Crc32C loop", loop);
        yield return BenchResult.Throughput(Name, @case, "GB/s", psyne, "System.IO.Hashing.Crc32", hashing);
    }

    private static double GigabytesPerSecond(int bytes, double seconds) => bytes / seconds / 1e9;

    internal static string FormatSize(int bytes) => bytes switch
    {
        >= 1 << 20 => $"{bytes >> 20} MiB",
        >= 1 << 10 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };
}
