using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Psyne.Benchmarks.Peers;

/// <summary>
/// What .NET code does today for the same shapes as the ternary kernels: an fp32 GEMV/GEMM as
/// one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> per output
/// row, an int8 GEMV with 512/256-bit vectors, and a streaming read that tells how fast this
/// machine's memory can be read (the ceiling for weights that come from DRAM).
/// Shared by the BenchmarkDotNet suites and <c>psyne bench ternary</c>.
/// </summary>
public static class GemvPeers
{
    /// <summary>y[t][r] = W[r] · x[t] for rows × cols float weights; rows split over <paramref name="threads"/>.</summary>
    public static void Fp32Gemm(ReadOnlySpan<float> w, int rows, int cols, ReadOnlySpan<float> x, int tokens, Span<float> y, int threads = 1)
    {
        if (threads <= 1)
        {
            Fp32Rows(w, cols, x, tokens, y, rows, 0, rows);
            return;
        }
        unsafe
        {
            fixed (float* pw = w)
            fixed (float* px = x)
            fixed (float* py = y)
            {
                nint aw = (nint)pw, ax = (nint)px, ay = (nint)py;
                int wl = w.Length, xl = x.Length, yl = y.Length;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
                {
                    int start = (int)((long)rows * part / threads), end = (int)((long)rows * (part + 1) / threads);
                    Fp32Rows(new ReadOnlySpan<float>((void*)aw, wl), cols, new ReadOnlySpan<float>((void*)ax, xl), tokens,
                             new Span<float>((void*)ay, yl), rows, start, end);
                });
            }
        }
    }

    private static void Fp32Rows(ReadOnlySpan<float> w, int cols, ReadOnlySpan<float> x, int tokens, Span<float> y, int rows, int start, int end)
    {
        for (int r = start; r < end; r++)
        {
            ReadOnlySpan<float> row = w.Slice(r * cols, cols);
            for (int t = 0; t < tokens; t++)
                y[t * rows + r] = TensorPrimitives.Dot(row, x.Slice(t * cols, cols));
        }
    }

    /// <summary>acc[r] = Σ w[r][k] · x[k] over int8 (int32 accumulation), one token.</summary>
    public static void Int8Gemv(ReadOnlySpan<sbyte> w, int rows, int cols, ReadOnlySpan<sbyte> x, Span<int> acc)
    {
        for (int r = 0; r < rows; r++)
            acc[r] = Int8Dot(w.Slice(r * cols, cols), x);
    }

    private static int Int8Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        int i = 0;
        Vector512<int> sum512 = Vector512<int>.Zero;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 64 <= a.Length; i += 64)
            {
                (Vector512<short> al, Vector512<short> ah) = Vector512.Widen(Vector512.Create(a.Slice(i, 64)));
                (Vector512<short> bl, Vector512<short> bh) = Vector512.Widen(Vector512.Create(b.Slice(i, 64)));
                (Vector512<int> p0, Vector512<int> p1) = Vector512.Widen(al * bl);
                (Vector512<int> p2, Vector512<int> p3) = Vector512.Widen(ah * bh);
                sum512 += (p0 + p1) + (p2 + p3);
            }
        }
        int sum = Vector512.Sum(sum512);
        for (; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }

    /// <summary>Reads every byte of <paramref name="memory"/> once with wide loads, split over threads; returns a checksum.</summary>
    public static unsafe ulong StreamRead(byte* memory, long length, int threads)
    {
        long perThread = length / threads / 64 * 64;
        ulong total = 0;
        object gate = new();
        nint basePtr = (nint)memory;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            ulong s = ReadRange((byte*)(basePtr + part * perThread), perThread);
            lock (gate) total ^= s;
        });
        return total;
    }

    /// <summary>
    /// Reads every byte of <paramref name="blocks"/> (each <paramref name="blockBytes"/> long) once with
    /// wide loads: thread i reads the i-th contiguous share of the blocks, in order, so each thread
    /// streams as it would through one buffer. For memory laid out like a set of weight copies.
    /// </summary>
    public static unsafe ulong StreamRead(nint[] blocks, long blockBytes, int threads)
    {
        ulong total = 0;
        object gate = new();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            int first = (int)((long)blocks.Length * part / threads), end = (int)((long)blocks.Length * (part + 1) / threads);
            ulong s = 0;
            for (int b = first; b < end; b++)
                s ^= ReadRange((byte*)blocks[b], blockBytes / 64 * 64);
            lock (gate) total ^= s;
        });
        return total;
    }

    /// <summary>XOR of every 64-byte vector of [p, p + bytes), four loads per iteration; bytes a multiple of 64.</summary>
    private static unsafe ulong ReadRange(byte* p, long bytes)
    {
        var v = (Vector512<ulong>*)p;
        long n = bytes / 64;
        Vector512<ulong> a = default, b = default, c = default, d = default;
        long i = 0;
        for (; i + 4 <= n; i += 4)
        {
            a ^= Vector512.Load((ulong*)(v + i));
            b ^= Vector512.Load((ulong*)(v + i + 1));
            c ^= Vector512.Load((ulong*)(v + i + 2));
            d ^= Vector512.Load((ulong*)(v + i + 3));
        }
        for (; i < n; i++)
            a ^= Vector512.Load((ulong*)(v + i));
        return Vector512.Sum(a ^ b ^ c ^ d);
    }

    /// <summary>Random weights in [-0.05, 0.05), a plausible scale for a linear layer.</summary>
    public static float[] RandomWeights(int count, int seed)
    {
        var random = new Random(seed);
        float[] w = new float[count];
        for (int i = 0; i < w.Length; i++)
            w[i] = (float)(random.NextDouble() - 0.5) * 0.1f;
        return w;
    }
}
