namespace Psyne;

/// <summary>The instruction-set levels libpsyne has kernels for (values as <c>psyne_isa</c>).</summary>
public enum Isa
{
    /// <summary>Portable C, no SIMD assumptions.</summary>
    Scalar = 0,
    /// <summary>x86-64 with AVX2, FMA, BMI2, SSE4.2 and PCLMULQDQ.</summary>
    Avx2 = 1,
    /// <summary>The AVX2 level plus AVX-512 F/BW/VL/DQ (VNNI and VPCLMULQDQ used where present).</summary>
    Avx512 = 2,
}
