using Psyne.Interop;
using Psyne.Messaging;
using Psyne.Ternary;

namespace Psyne.Tests.Core;

/// <summary>
/// The public API mirrors native enums instead of exposing generated types (SkiaSharp's shape);
/// these tests keep every mirror's values in step with psyne.h, so a new native value cannot be
/// silently missing or shifted in C#.
/// </summary>
[TestFixture]
public class PublicEnumMirrorTests
{
    private static void AssertSameValues<TPublic, TNative>(params long[] nativeValuesWithoutMirror)
        where TPublic : struct, Enum
        where TNative : struct, Enum
    {
        long[] publicValues = Enum.GetValues<TPublic>().Select(v => Convert.ToInt64(v)).OrderBy(v => v).ToArray();
        long[] nativeValues = Enum.GetValues<TNative>().Select(v => Convert.ToInt64(v))
            .Where(v => !nativeValuesWithoutMirror.Contains(v)).OrderBy(v => v).ToArray();
        Assert.That(publicValues, Is.EqualTo(nativeValues), $"{typeof(TPublic).Name} vs {typeof(TNative).Name}");
    }

    [Test]
    public void Isa_mirrors_psyne_isa() => AssertSameValues<Isa, psyne_isa>();

    [Test]
    public void Crc32CVariant_mirrors_psyne_crc32c_variant() => AssertSameValues<Crc32CVariant, psyne_crc32c_variant>();

    [Test]
    public void MemoryBacking_mirrors_psyne_alloc_kind() => AssertSameValues<MemoryBacking, psyne_alloc_kind>();

    [Test]
    public void TernaryKernel_mirrors_psyne_ternary_kernel() => AssertSameValues<TernaryKernel, psyne_ternary_kernel>();

    [Test]
    public void TernaryScaleMode_mirrors_psyne_ternary_scale_mode() => AssertSameValues<TernaryScaleMode, psyne_ternary_scale_mode>();

    [Test]
    public void TensorDType_mirrors_psyne_dtype() => AssertSameValues<TensorDType, psyne_dtype>();

    [Test]
    public void TensorLayout_mirrors_psyne_tensor_layout() => AssertSameValues<TensorLayout, psyne_tensor_layout>();

    [Test]
    public void ChannelKind_mirrors_psyne_channel_kind() => AssertSameValues<ChannelKind, psyne_channel_kind>();

    [Test]
    public void WaitPolicy_mirrors_psyne_wait_policy() => AssertSameValues<WaitPolicy, psyne_wait_policy>();

    [Test]
    public void FullPolicy_mirrors_psyne_full_policy() => AssertSameValues<FullPolicy, psyne_full_policy>();
}
