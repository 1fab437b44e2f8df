using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Ternary;

/// <summary>
/// A BitNet b1.58 weight matrix: <see cref="Rows"/> × <see cref="Cols"/> weights in {-1, 0, +1}
/// packed 2 bits each in native memory, with one absmean scale per tensor or per row.
/// Multiplications run libpsyne's kernels (scalar, AVX2, AVX-512 VNNI, chosen by the
/// selected ISA) on every core (<see cref="PsyneRuntime.Threads"/>). Dispose to free the
/// weights; a forgotten matrix is freed by the finalizer.
/// </summary>
public sealed unsafe class TernaryMatrix : IDisposable
{
    private readonly MatrixHandle _handle;
    private readonly psyne_ternary_matrix_info _info;

    private TernaryMatrix(MatrixHandle handle)
    {
        _handle = handle;
        psyne_ternary_matrix_info info;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_info(handle.Matrix, &info));
        _info = info;
    }

    /// <summary>Output features (N).</summary>
    public int Rows => (int)_info.rows;

    /// <summary>Input features (K).</summary>
    public int Cols => (int)_info.cols;

    /// <summary>Whether there is one scale for the tensor or one per row.</summary>
    public TernaryScaleMode ScaleMode => (TernaryScaleMode)_info.scale_mode;

    /// <summary>Bytes of packed weights (2 bits a weight, rows padded to 256 weights).</summary>
    public long PackedBytes => (long)_info.packed_bytes;

    /// <summary>Bytes of the <c>.psyt</c> image <see cref="Save"/> and <see cref="Serialize"/> write.</summary>
    public long SerializedBytes => (long)_info.serialized_bytes;

    /// <summary>How the packed weights are backed (huge pages for large matrices where the system allows).</summary>
    public MemoryBacking Backing => (MemoryBacking)_info.alloc_kind;

    /// <summary>
    /// Quantises float weights (row-major, <paramref name="rows"/> × <paramref name="cols"/>) with
    /// absmean: <c>s = mean(|W|)</c>, <c>Wq = clamp(round(W / (s + eps)), -1, 1)</c>. Allocates the matrix.
    /// </summary>
    /// <exception cref="ArgumentException">The span does not hold rows × cols values.</exception>
    /// <exception cref="PsyneArgumentException">A NaN or infinity (the message gives its row and column), or an empty shape.</exception>
    public static TernaryMatrix Quantize(ReadOnlySpan<float> weights, int rows, int cols,
                                         TernaryScaleMode mode = TernaryScaleMode.PerTensor)
    {
        CheckShape(weights.Length, rows, cols, nameof(weights));
        NativeRuntime.EnsureInitialized();
        var handle = new MatrixHandle();
        psyne_ternary_matrix* m;
        fixed (float* w = weights)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_quantize(w, (uint)rows, (uint)cols, (psyne_ternary_scale_mode)mode, &m));
        handle.Adopt(m);
        return new TernaryMatrix(handle);
    }

    /// <summary>
    /// Packs weights that are already ternary (each -1, 0 or 1), with one scale
    /// (<see cref="TernaryScaleMode.PerTensor"/>) or one per row. For loaders of other formats.
    /// </summary>
    public static TernaryMatrix Pack(ReadOnlySpan<sbyte> weights, int rows, int cols, ReadOnlySpan<float> scales)
    {
        CheckShape(weights.Length, rows, cols, nameof(weights));
        TernaryScaleMode mode = scales.Length == 1 ? TernaryScaleMode.PerTensor
            : scales.Length == rows ? TernaryScaleMode.PerRow
            : throw new ArgumentException($"Expected 1 scale (per tensor) or {rows} (per row), got {scales.Length}.", nameof(scales));
        NativeRuntime.EnsureInitialized();
        var handle = new MatrixHandle();
        psyne_ternary_matrix* m;
        fixed (sbyte* w = weights)
        fixed (float* s = scales)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_pack(w, (uint)rows, (uint)cols, (psyne_ternary_scale_mode)mode, s, (uint)scales.Length, &m));
        handle.Adopt(m);
        return new TernaryMatrix(handle);
    }

    /// <summary>Reads a <c>.psyt</c> file (checked: magic, version, shape, sizes and CRC32C).</summary>
    /// <exception cref="PsyneNotFoundException">The file does not exist.</exception>
    /// <exception cref="PsyneFormatException">It is not a valid .psyt file (truncated, corrupted, wrong version...).</exception>
    public static TernaryMatrix Load(string path)
    {
        byte[] utf8 = Utf8Path.Encode(path);
        NativeRuntime.EnsureInitialized();
        var handle = new MatrixHandle();
        psyne_ternary_matrix* m;
        fixed (byte* p = utf8)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_load(p, &m));
        handle.Adopt(m);
        return new TernaryMatrix(handle);
    }

    /// <summary>Reads a <c>.psyt</c> image from memory, with the checks of <see cref="Load"/>.</summary>
    public static TernaryMatrix Deserialize(ReadOnlySpan<byte> image)
    {
        NativeRuntime.EnsureInitialized();
        var handle = new MatrixHandle();
        psyne_ternary_matrix* m;
        fixed (byte* p = image)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_deserialize(p, (nuint)image.Length, &m));
        handle.Adopt(m);
        return new TernaryMatrix(handle);
    }

    /// <summary>Writes the matrix as a <c>.psyt</c> file.</summary>
    public void Save(string path)
    {
        byte[] utf8 = Utf8Path.Encode(path);
        using var use = _handle.Use();
        fixed (byte* p = utf8)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_save(use.Matrix, p));
    }

    /// <summary>Writes the <c>.psyt</c> image into <paramref name="destination"/>.</summary>
    /// <returns>The bytes written (<see cref="SerializedBytes"/>).</returns>
    public int Serialize(Span<byte> destination)
    {
        using var use = _handle.Use();
        nuint written;
        fixed (byte* p = destination)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_serialize(use.Matrix, p, (nuint)destination.Length, &written));
        return (int)written;
    }

    /// <summary>Copies the scale(s) out: 1 value per tensor, or <see cref="Rows"/> values.</summary>
    public void GetScales(Span<float> destination)
    {
        using var use = _handle.Use();
        fixed (float* p = destination)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_scales(use.Matrix, p, (uint)destination.Length));
    }

    /// <summary>Unpacks the ternary weights (row-major, each -1, 0 or 1) into <paramref name="destination"/>.</summary>
    public void Unpack(Span<sbyte> destination)
    {
        using var use = _handle.Use();
        fixed (sbyte* p = destination)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_unpack(use.Matrix, p, (nuint)destination.Length));
    }

    /// <summary>
    /// <c>y = W · x</c> for float activations: <paramref name="x"/> holds tokens × <see cref="Cols"/>
    /// values, <paramref name="y"/> tokens × <see cref="Rows"/>. Activations are quantised per token
    /// (absmax, int8) into per-thread scratch kept between calls, so steady-state calls allocate nothing.
    /// For a reusable layer with its own scratch, see <see cref="BitLinear"/>.
    /// </summary>
    public void Multiply(ReadOnlySpan<float> x, Span<float> y)
    {
        int tokens = Tokens(x.Length, y.Length);
        ActivationScratch scratch = ActivationScratch.ForThread(tokens, Cols);
        Forward(x, tokens, scratch.Quantized, scratch.AbsMax, y);
    }

    /// <summary>
    /// <c>y = s_w · (a / 127) · (Wq · xq)</c> for activations already quantised with
    /// <see cref="ActivationQuantizer.Quantize"/>. Allocates nothing.
    /// </summary>
    public void Multiply(ReadOnlySpan<sbyte> xq, ReadOnlySpan<float> absMax, Span<float> y)
    {
        int tokens = Tokens(xq.Length, y.Length);
        if (absMax.Length < tokens)
            throw new ArgumentException($"absMax holds {absMax.Length} values; {tokens} token(s) need {tokens}.", nameof(absMax));
        using var use = _handle.Use();
        fixed (sbyte* q = xq)
        fixed (float* a = absMax)
        fixed (float* o = y)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_ternary_gemm(use.Matrix, q, a, (uint)tokens, o));
    }

    /// <summary>
    /// The raw int32 accumulators <c>acc[t][r] = Σ Wq[r][k] · xq[t][k]</c> (tokens × <see cref="Rows"/>),
    /// with the selected kernel or a named one. Every kernel gives the same bits.
    /// </summary>
    public void MultiplyInt32(ReadOnlySpan<sbyte> xq, Span<int> accumulators, TernaryKernel kernel = TernaryKernel.Auto)
    {
        int tokens = Tokens(xq.Length, accumulators.Length);
        using var use = _handle.Use();
        fixed (sbyte* q = xq)
        fixed (int* acc = accumulators)
        {
            NativeStatus.ThrowIfFailed(kernel == TernaryKernel.Auto
                ? PsyneNative.psyne_ternary_gemm_i32(use.Matrix, q, (uint)tokens, acc)
                : PsyneNative.psyne_ternary_kernel_gemm_i32((psyne_ternary_kernel)kernel, use.Matrix, q, (uint)tokens, acc));
        }
    }

    internal void Forward(ReadOnlySpan<float> x, int tokens, Span<sbyte> xqScratch, Span<float> absMaxScratch, Span<float> y)
    {
        using var use = _handle.Use();
        fixed (float* input = x)
        fixed (sbyte* q = xqScratch)
        fixed (float* a = absMaxScratch)
        fixed (float* o = y)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_bitlinear(use.Matrix, input, (uint)tokens, q, a, o));
    }

    /// <summary>Tokens in a call, from the input and output lengths; throws when they disagree.</summary>
    internal int Tokens(int inputLength, int outputLength)
    {
        if (inputLength == 0 || inputLength % Cols != 0)
            throw new ArgumentException(
                $"The input holds {inputLength} values, which is not a whole number (at least 1) of tokens of {Cols} columns.", "x");
        int tokens = inputLength / Cols;
        if (outputLength < (long)tokens * Rows)
            throw new ArgumentException(
                $"The output holds {outputLength} values; {tokens} token(s) × {Rows} rows need {(long)tokens * Rows}.", "y");
        return tokens;
    }

    private static void CheckShape(int length, int rows, int cols, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if ((long)rows * cols != length)
            throw new ArgumentException($"{name} holds {length} values; a {rows} × {cols} matrix needs {(long)rows * cols}.", name);
    }

    /// <summary>The selected kernel for the current ISA.</summary>
    public static TernaryKernel SelectedKernel
    {
        get
        {
            NativeRuntime.EnsureInitialized();
            return (TernaryKernel)PsyneNative.psyne_ternary_kernel_selected();
        }
    }

    /// <summary>Frees the packed weights.</summary>
    public void Dispose() => _handle.Dispose();

    private sealed class MatrixHandle : PsyneSafeHandle
    {
        public psyne_ternary_matrix* Matrix => (psyne_ternary_matrix*)handle;

        public void Adopt(psyne_ternary_matrix* matrix) => SetHandle((nint)matrix);

        /// <summary>Keeps the matrix alive for the length of a native call, even if another thread disposes it.</summary>
        public Lease Use()
        {
            bool added = false;
            DangerousAddRef(ref added);
            return new Lease(this);
        }

        protected override bool ReleaseHandle() =>
            PsyneNative.psyne_ternary_free((psyne_ternary_matrix*)handle) == psyne_status.PSYNE_OK;

        public readonly ref struct Lease(MatrixHandle owner)
        {
            public psyne_ternary_matrix* Matrix => owner.Matrix;

            public void Dispose() => owner.DangerousRelease();
        }
    }
}

/// <summary>How many absmean scales a <see cref="TernaryMatrix"/> has.</summary>
public enum TernaryScaleMode
{
    /// <summary>One scale for the whole matrix, as in BitNet b1.58.</summary>
    PerTensor = 0,
    /// <summary>One scale per output row.</summary>
    PerRow = 1,
}

/// <summary>The ternary matmul kernels (values as <c>psyne_ternary_kernel</c>).</summary>
public enum TernaryKernel
{
    /// <summary>The fastest for the selected ISA.</summary>
    Auto = 0,
    /// <summary>Portable C reference.</summary>
    Scalar = 1,
    /// <summary>AVX2: vpmaddubsw + vpmaddwd.</summary>
    Avx2 = 2,
    /// <summary>AVX-512BW: vpmaddubsw + vpmaddwd on 512 bits.</summary>
    Avx512 = 3,
    /// <summary>AVX-512 VNNI: vpdpbusd.</summary>
    Avx512Vnni = 4,
}
