using BenchmarkDotNet.Attributes;
using Psyne.Benchmarks.Peers;
using Psyne.Ternary;

namespace Psyne.Benchmarks;

/// <summary>
/// Ternary GEMV/GEMM (hot weights: the same matrix every call) against the fp32 GEMV/GEMM
/// .NET code writes with TensorPrimitives (the baseline) and an int8 GEMV, same shapes, same
/// run. Cold weights and GOPS per kernel are in <c>psyne bench ternary</c>, which rotates over
/// 1 GiB of copies and measures this machine's read bandwidth in the same run.
/// </summary>
[MemoryDiagnoser]
public class TernaryBenchmarks
{
    private TernaryMatrix _matrix = null!;
    private BitLinear _layer = null!;
    private float[] _weights = [];
    private sbyte[] _weightsInt8 = [];
    private float[] _x = [];
    private sbyte[] _xInt8 = [];
    private float[] _y = [];
    private int[] _acc = [];

    [Params(4096, 11008)]
    public int Rows { get; set; }

    [Params(1, 32)]
    public int Tokens { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    private const int Cols = 4096;

    [GlobalSetup]
    public void Setup()
    {
        _weights = GemvPeers.RandomWeights(Rows * Cols, Rows);
        _matrix = TernaryMatrix.Quantize(_weights, Rows, Cols);
        _layer = new BitLinear(_matrix, Tokens);
        _weightsInt8 = new sbyte[Rows * Cols];
        _matrix.Unpack(_weightsInt8);
        _x = GemvPeers.RandomWeights(Tokens * Cols, 7);
        _xInt8 = new sbyte[Cols];
        new Random(1).NextBytes((byte[])(Array)_xInt8);
        _y = new float[Tokens * Rows];
        _acc = new int[Rows];
        PsyneRuntime.Threads = Threads;
    }

    [GlobalCleanup]
    public void Cleanup() => _matrix.Dispose();

    [Benchmark(Baseline = true)]
    public void Fp32TensorPrimitives() => GemvPeers.Fp32Gemm(_weights, Rows, Cols, _x, Tokens, _y, Threads);

    /// <summary>An int8 GEMV per token (single-threaded whatever <see cref="Threads"/> says).</summary>
    [Benchmark]
    public void Int8Gemv()
    {
        for (int t = 0; t < Tokens; t++)
            GemvPeers.Int8Gemv(_weightsInt8, Rows, Cols, _xInt8, _acc);
    }

    [Benchmark]
    public void PsyneBitLinear() => _layer.Forward(_x, _y);
}
