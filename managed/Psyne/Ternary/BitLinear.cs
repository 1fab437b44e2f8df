namespace Psyne.Ternary;

/// <summary>
/// A BitNet b1.58 linear layer (without its normalisation): per-token absmax int8 activation
/// quantisation, ternary matmul, and the two scales, <c>y = s_w · (a / 127) · (Wq · xq)</c>.
/// Owns its scratch for up to <see cref="MaxTokens"/> tokens, so <see cref="Forward"/> allocates
/// nothing. Not thread-safe: use one layer per thread, or <see cref="TernaryMatrix.Multiply(ReadOnlySpan{float}, Span{float})"/>.
/// </summary>
public sealed class BitLinear : IDisposable
{
    private readonly sbyte[] _quantized;
    private readonly float[] _absMax;
    private readonly bool _ownsWeights;

    /// <summary>Creates a layer over <paramref name="weights"/>.</summary>
    /// <param name="weights">The ternary weights (out features × in features).</param>
    /// <param name="maxTokens">The largest batch <see cref="Forward"/> will see.</param>
    /// <param name="ownsWeights">Dispose the weights with the layer.</param>
    public BitLinear(TernaryMatrix weights, int maxTokens = 1, bool ownsWeights = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        Weights = weights;
        MaxTokens = maxTokens;
        _ownsWeights = ownsWeights;
        _quantized = GC.AllocateUninitializedArray<sbyte>(checked(maxTokens * weights.Cols), pinned: true);
        _absMax = GC.AllocateUninitializedArray<float>(maxTokens, pinned: true);
    }

    /// <summary>Quantises float weights (out × in, row-major) and makes a layer that owns them.</summary>
    public static BitLinear FromFloat(ReadOnlySpan<float> weights, int outFeatures, int inFeatures, int maxTokens = 1,
                                      TernaryScaleMode mode = TernaryScaleMode.PerTensor) =>
        new(TernaryMatrix.Quantize(weights, outFeatures, inFeatures, mode), maxTokens, ownsWeights: true);

    /// <summary>The weights.</summary>
    public TernaryMatrix Weights { get; }

    /// <summary>Input features.</summary>
    public int InFeatures => Weights.Cols;

    /// <summary>Output features.</summary>
    public int OutFeatures => Weights.Rows;

    /// <summary>The largest batch one call accepts.</summary>
    public int MaxTokens { get; }

    /// <summary>
    /// <paramref name="y"/> (tokens × out) from <paramref name="x"/> (tokens × in); tokens is
    /// x.Length / in. Allocates nothing; multi-threaded over output rows.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that do not match, or more than <see cref="MaxTokens"/> tokens.</exception>
    /// <exception cref="PsyneArgumentException">A NaN or infinity in x.</exception>
    public void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        int tokens = Weights.Tokens(x.Length, y.Length);
        if (tokens > MaxTokens)
            throw new ArgumentException($"{tokens} tokens is more than this layer's MaxTokens ({MaxTokens}).", nameof(x));
        Weights.Forward(x, tokens, _quantized, _absMax, y);
    }

    /// <summary>Disposes the weights if the layer owns them.</summary>
    public void Dispose()
    {
        if (_ownsWeights)
            Weights.Dispose();
    }
}
