using Psyne.Ternary;

namespace Psyne.Tests.Ternary;

[TestFixture]
public class TernaryMatrixTests
{
    private static float[] RandomWeights(int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var w = new float[rows * cols];
        for (int i = 0; i < w.Length; i++)
            w[i] = (float)(random.NextDouble() * 2 - 1) * 0.05f;
        return w;
    }

    [Test]
    public void Quantize_uses_absmean_with_round_half_away_from_zero()
    {
        // mean(|W|) = (0.5 + 1.5 + 0 + 2 + 0.25 + 0.75) / 6 = 5 / 6
        float[] w = [0.5f, -1.5f, 0f, 2f, -0.25f, 0.75f];
        using var m = TernaryMatrix.Quantize(w, rows: 2, cols: 3);
        float[] scale = new float[1];
        m.GetScales(scale);
        Assert.That(scale[0], Is.EqualTo(5f / 6f).Within(1e-6f));
        sbyte[] q = new sbyte[6];
        m.Unpack(q);
        // W / s = 0.6, -1.8, 0, 2.4, -0.3, 0.9 -> round: 1, -2->-1, 0, 2->1, 0, 1
        Assert.That(q, Is.EqualTo(new sbyte[] { 1, -1, 0, 1, 0, 1 }));
        Assert.That(m.Rows, Is.EqualTo(2));
        Assert.That(m.Cols, Is.EqualTo(3));
        Assert.That(m.ScaleMode, Is.EqualTo(TernaryScaleMode.PerTensor));
    }

    [Test]
    public void Per_row_scales_are_one_per_row()
    {
        float[] w = [1f, -1f, 1f, -1f, 0.1f, 0.1f, -0.1f, 0f];
        using var m = TernaryMatrix.Quantize(w, rows: 2, cols: 4, TernaryScaleMode.PerRow);
        float[] scales = new float[2];
        m.GetScales(scales);
        Assert.That(scales[0], Is.EqualTo(1f).Within(1e-6f));
        Assert.That(scales[1], Is.EqualTo(0.075f).Within(1e-6f));
        sbyte[] q = new sbyte[8];
        m.Unpack(q);
        Assert.That(q, Is.EqualTo(new sbyte[] { 1, -1, 1, -1, 1, 1, -1, 0 }));
    }

    [Test]
    public void Every_kernel_gives_the_same_int32_accumulators([Values(1, 255, 257, 1000)] int cols, [Values(1, 7, 32)] int tokens)
    {
        const int rows = 19;
        using var m = TernaryMatrix.Quantize(RandomWeights(rows, cols, cols), rows, cols);
        var random = new Random(tokens);
        sbyte[] xq = new sbyte[tokens * cols + 1];
        for (int i = 0; i < xq.Length; i++)
            xq[i] = (sbyte)random.Next(-127, 128);
        ReadOnlySpan<sbyte> unaligned = xq.AsSpan(1); // an odd address
        int[] reference = new int[tokens * rows];
        m.MultiplyInt32(unaligned, reference, TernaryKernel.Scalar);

        // Independent check of the scalar kernel from the unpacked weights.
        sbyte[] wq = new sbyte[rows * cols];
        m.Unpack(wq);
        for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
        {
            int acc = 0;
            for (int k = 0; k < cols; k++)
                acc += wq[r * cols + k] * unaligned[t * cols + k];
            Assert.That(reference[t * rows + r], Is.EqualTo(acc), $"scalar token {t} row {r}");
        }

        foreach (TernaryKernel kernel in Enum.GetValues<TernaryKernel>())
        {
            int[] actual = new int[tokens * rows];
            try
            {
                m.MultiplyInt32(unaligned, actual, kernel);
            }
            catch (PsyneUnsupportedException)
            {
                continue; // this CPU lacks it; the native tests report it as skipped
            }
            Assert.That(actual, Is.EqualTo(reference), kernel.ToString());
        }
    }

    [Test]
    public void Multiply_matches_a_float64_reference_from_the_dequantised_weights_and_activations()
    {
        const int rows = 64, cols = 300, tokens = 5;
        float[] w = RandomWeights(rows, cols, 11);
        using var m = TernaryMatrix.Quantize(w, rows, cols, TernaryScaleMode.PerRow);
        var random = new Random(12);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(random.NextDouble() * 8 - 4);
        float[] y = new float[tokens * rows];
        m.Multiply(x, y);

        sbyte[] wq = new sbyte[rows * cols];
        m.Unpack(wq);
        float[] scales = new float[rows];
        m.GetScales(scales);
        sbyte[] xq = new sbyte[x.Length];
        float[] absMax = new float[tokens];
        ActivationQuantizer.Quantize(x, cols, xq, absMax);
        for (int t = 0; t < tokens; t++)
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int k = 0; k < cols; k++)
                sum += (wq[r * cols + k] * (double)scales[r]) * (xq[t * cols + k] * (double)absMax[t] / 127.0);
            // Relative to the magnitude the sum could reach, float32 rounding of the final scaling only.
            double tolerance = 1e-5 * Math.Max(1, Math.Abs(sum));
            Assert.That(y[t * rows + r], Is.EqualTo(sum).Within(tolerance), $"token {t} row {r}");
        }

        using var layer = new BitLinear(m, maxTokens: tokens);
        float[] y2 = new float[y.Length];
        layer.Forward(x, y2);
        Assert.That(y2, Is.EqualTo(y), "BitLinear and Multiply agree bit for bit");
    }

    [Test]
    public void Activation_quantisation_handles_zero_rows_and_ties()
    {
        float[] x = [0f, 0f, 0f, 0f, 1f, -0.5f, 0.25f, -1f];
        sbyte[] xq = new sbyte[8];
        float[] a = new float[2];
        ActivationQuantizer.Quantize(x, 4, xq, a);
        Assert.That(a, Is.EqualTo(new[] { 0f, 1f }));
        // 0.5 * 127 = 63.5 -> 64 (half away from zero); 0.25 * 127 = 31.75 -> 32
        Assert.That(xq, Is.EqualTo(new sbyte[] { 0, 0, 0, 0, 127, -64, 32, -127 }));
    }

    [Test]
    public void Save_and_load_round_trip_and_serialize_matches_the_file()
    {
        const int rows = 33, cols = 513;
        using var m = TernaryMatrix.Quantize(RandomWeights(rows, cols, 3), rows, cols, TernaryScaleMode.PerRow);
        string path = Path.Combine(Path.GetTempPath(), $"psyne-{Guid.NewGuid():N}.psyt");
        try
        {
            m.Save(path);
            Assert.That(new FileInfo(path).Length, Is.EqualTo(m.SerializedBytes));
            using var loaded = TernaryMatrix.Load(path);
            Assert.That((loaded.Rows, loaded.Cols, loaded.ScaleMode), Is.EqualTo((rows, cols, TernaryScaleMode.PerRow)));
            sbyte[] a = new sbyte[rows * cols], b = new sbyte[rows * cols];
            m.Unpack(a);
            loaded.Unpack(b);
            Assert.That(b, Is.EqualTo(a));

            byte[] image = new byte[m.SerializedBytes];
            Assert.That(m.Serialize(image), Is.EqualTo(image.Length));
            Assert.That(image, Is.EqualTo(File.ReadAllBytes(path)));
            using var fromMemory = TernaryMatrix.Deserialize(image);
            Assert.That(fromMemory.PackedBytes, Is.EqualTo(m.PackedBytes));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Corrupted_truncated_foreign_and_missing_files_are_typed_errors()
    {
        using var m = TernaryMatrix.Quantize(RandomWeights(4, 256, 1), 4, 256);
        byte[] image = new byte[m.SerializedBytes];
        m.Serialize(image);

        byte[] flipped = (byte[])image.Clone();
        flipped[^10] ^= 0x40;
        Assert.That(Assert.Throws<PsyneFormatException>(() => TernaryMatrix.Deserialize(flipped))!.Message, Does.Contain("CRC"));

        Assert.Throws<PsyneFormatException>(() => TernaryMatrix.Deserialize(image.AsSpan(0, image.Length - 1)));
        Assert.Throws<PsyneFormatException>(() => TernaryMatrix.Deserialize(image.AsSpan(0, 10)));

        byte[] foreign = (byte[])image.Clone();
        foreign[0] = (byte)'X';
        Assert.That(Assert.Throws<PsyneFormatException>(() => TernaryMatrix.Deserialize(foreign))!.Message, Does.Contain("magic"));

        byte[] future = (byte[])image.Clone();
        future[4] = 99; // version
        Assert.That(Assert.Throws<PsyneFormatException>(() => TernaryMatrix.Deserialize(future))!.Message, Does.Contain("version"));

        Assert.Throws<PsyneNotFoundException>(() => TernaryMatrix.Load(Path.Combine(Path.GetTempPath(), "no-such-psyne.psyt")));
    }

    [Test]
    public void Bad_shapes_and_values_are_typed_errors()
    {
        Assert.Throws<ArgumentException>(() => TernaryMatrix.Quantize(new float[10], 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => TernaryMatrix.Quantize([], 0, 3));
        float[] nan = new float[6];
        nan[4] = float.NaN;
        Assert.That(Assert.Throws<PsyneArgumentException>(() => TernaryMatrix.Quantize(nan, 2, 3))!.Message, Does.Contain("row 1"));
        float[] inf = new float[6];
        inf[0] = float.PositiveInfinity;
        Assert.Throws<PsyneArgumentException>(() => TernaryMatrix.Quantize(inf, 2, 3));

        using var m = TernaryMatrix.Quantize(new float[] { 1, -1, 0, 1, 1, -1 }, 2, 3);
        Assert.Throws<ArgumentException>(() => m.Multiply(new float[4], new float[2]), "input not a whole token");
        Assert.Throws<ArgumentException>(() => m.Multiply(new float[3], new float[1]), "output too short");
        Assert.Throws<PsyneArgumentException>(() => m.Multiply(new float[] { 1, float.NaN, 0 }, new float[2]));
        using var layer = new BitLinear(m, maxTokens: 1);
        Assert.Throws<ArgumentException>(() => layer.Forward(new float[6], new float[4]), "more than MaxTokens");
        Assert.Throws<ArgumentException>(() => TernaryMatrix.Pack(new sbyte[6], 2, 3, new float[3]));
        Assert.Throws<PsyneArgumentException>(() => TernaryMatrix.Pack(new sbyte[] { 2, 0, 0, 0, 0, 0 }, 2, 3, [1f]));
    }

    [Test]
    public void One_and_two_threads_give_the_same_bits()
    {
        const int rows = 1000, cols = 1024, tokens = 3;
        using var m = TernaryMatrix.Quantize(RandomWeights(rows, cols, 8), rows, cols);
        float[] x = RandomWeights(tokens, cols, 9);
        float[] y1 = new float[tokens * rows], y2 = new float[tokens * rows];
        int before = PsyneRuntime.Threads;
        try
        {
            PsyneRuntime.Threads = 1;
            Assert.That(PsyneRuntime.Threads, Is.EqualTo(1));
            m.Multiply(x, y1);
            PsyneRuntime.Threads = 2;
            m.Multiply(x, y2);
        }
        finally
        {
            PsyneRuntime.Threads = before;
        }
        Assert.That(y2, Is.EqualTo(y1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PsyneRuntime.Threads = 0);
        Assert.Throws<PsyneArgumentException>(() => PsyneRuntime.Threads = 100_000);
    }

    [Test]
    public void A_disposed_matrix_refuses_use()
    {
        var m = TernaryMatrix.Quantize(new float[] { 1, -1 }, 1, 2);
        m.Dispose();
        Assert.Throws<ObjectDisposedException>(() => m.Multiply(new float[2], new float[1]));
    }

    [Test]
    public void Steady_state_calls_allocate_nothing()
    {
        const int rows = 128, cols = 512, tokens = 4;
        using var layer = BitLinear.FromFloat(RandomWeights(rows, cols, 5), rows, cols, maxTokens: tokens);
        float[] x = new float[tokens * cols];
        x.AsSpan().Fill(0.5f);
        float[] y = new float[tokens * rows];
        layer.Forward(x, y);
        layer.Weights.Multiply(x, y); // grows the per-thread scratch once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            layer.Forward(x, y);
            layer.Weights.Multiply(x, y);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
