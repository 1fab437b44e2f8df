using System.IO.Hashing;
using BenchmarkDotNet.Attributes;
using Psyne.Benchmarks.Peers;

namespace Psyne.Benchmarks;

/// <summary>
/// CRC32C throughput from 64 B to 1 MiB: Psyne against a BitOperations.Crc32C loop (the
/// baseline, what .NET code writes today) and System.IO.Hashing.Crc32 (a different
/// polynomial, but the vectorised checksum .NET ships). Divide Length by Mean for GB/s.
/// </summary>
[MemoryDiagnoser]
public class Crc32CBenchmarks
{
    private byte[] _data = [];

    [Params(64, 1024, 65536, 1048576)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Length];
        new Random(42).NextBytes(_data);
        if (Crc32C.Compute(_data) != Crc32CPeers.BitOperationsLoop(_data))
            throw new InvalidOperationException("Psyne's CRC32C disagrees with the BitOperations loop.");
    }

    [Benchmark(Baseline = true)]
    public uint BitOperationsLoop() => Crc32CPeers.BitOperationsLoop(_data);

    [Benchmark]
    public uint SystemIOHashingCrc32() => Crc32.HashToUInt32(_data);

    [Benchmark]
    public uint PsyneCrc32C() => Crc32C.Compute(_data);
}
