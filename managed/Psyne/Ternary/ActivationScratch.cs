namespace Psyne.Ternary;

/// <summary>
/// Per-thread buffers for quantised activations, grown when a call needs more and kept, so
/// <see cref="TernaryMatrix.Multiply(ReadOnlySpan{float}, Span{float})"/> allocates nothing in steady state.
/// </summary>
internal sealed class ActivationScratch
{
    [ThreadStatic]
    private static ActivationScratch? _current;

    private sbyte[] _quantized = [];
    private float[] _absMax = [];
    private int _tokens;
    private int _cols;

    public Span<sbyte> Quantized => _quantized.AsSpan(0, _tokens * _cols);

    public Span<float> AbsMax => _absMax.AsSpan(0, _tokens);

    public static ActivationScratch ForThread(int tokens, int cols)
    {
        ActivationScratch scratch = _current ??= new ActivationScratch();
        long needed = (long)tokens * cols;
        if (needed > Array.MaxLength)
            throw new ArgumentException($"{tokens} token(s) × {cols} columns is too large for one call; split the batch.");
        if (scratch._quantized.Length < needed)
            scratch._quantized = GC.AllocateUninitializedArray<sbyte>((int)needed, pinned: true);
        if (scratch._absMax.Length < tokens)
            scratch._absMax = GC.AllocateUninitializedArray<float>(tokens, pinned: true);
        scratch._tokens = tokens;
        scratch._cols = cols;
        return scratch;
    }
}
