using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Ternary;

/// <summary>
/// BitNet b1.58 activation quantisation: per token (row), <c>a = max(|x|)</c> and
/// <c>xq = clamp(round(x · 127 / a), -127, 127)</c> as int8; a row of zeros gives a = 0 and xq = 0.
/// </summary>
public static class ActivationQuantizer
{
    /// <summary>
    /// Quantises <paramref name="x"/> (tokens × <paramref name="cols"/>) into <paramref name="xq"/>
    /// (the same count) and <paramref name="absMax"/> (one per token). Allocates nothing.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that do not match.</exception>
    /// <exception cref="PsyneArgumentException">A NaN or infinity (the message names token and column).</exception>
    public static unsafe void Quantize(ReadOnlySpan<float> x, int cols, Span<sbyte> xq, Span<float> absMax)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        if (x.Length == 0 || x.Length % cols != 0)
            throw new ArgumentException($"x holds {x.Length} values, not a whole number (at least 1) of tokens of {cols}.", nameof(x));
        int tokens = x.Length / cols;
        if (xq.Length < x.Length)
            throw new ArgumentException($"xq holds {xq.Length} values; it needs {x.Length}.", nameof(xq));
        if (absMax.Length < tokens)
            throw new ArgumentException($"absMax holds {absMax.Length} values; {tokens} token(s) need {tokens}.", nameof(absMax));
        NativeRuntime.EnsureInitialized();
        fixed (float* px = x)
        fixed (sbyte* pq = xq)
        fixed (float* pa = absMax)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_quantize_activations(px, (uint)tokens, (uint)cols, pq, pa));
    }
}
