using System.Numerics;

namespace Psyne.Tests.Core;

/// <summary>
/// CRC32C against RFC 3720's test vectors and an independent .NET reference, for every
/// variant and every ISA this CPU runs.
/// </summary>
[TestFixture]
public class Crc32CTests
{
    private Isa _isaBefore;

    [SetUp]
    public void RememberIsa() => _isaBefore = PsyneRuntime.SelectedIsa;

    [TearDown]
    public void RestoreIsa() => PsyneRuntime.SelectIsa(_isaBefore);

    /// <summary>Byte-at-a-time BitOperations.Crc32C: independent of libpsyne.</summary>
    private static uint Reference(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        foreach (byte b in data)
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    private static IEnumerable<Crc32CVariant> SupportedVariants()
    {
        foreach (Crc32CVariant v in Enum.GetValues<Crc32CVariant>())
        {
            bool supported = true;
            try { Crc32C.Compute(v, 0, [1, 2, 3]); }
            catch (PsyneUnsupportedException) { supported = false; }
            if (supported)
                yield return v;
        }
    }

    private static IEnumerable<Isa> SupportedIsas() =>
        Enum.GetValues<Isa>().Where(i => i <= Capabilities.Detect().DetectedIsa);

    // RFC 3720, appendix B.4.
    private static IEnumerable<TestCaseData> Rfc3720Vectors()
    {
        yield return new TestCaseData(new byte[32], 0x8A9136AAu).SetName("32 bytes of zeros");
        yield return new TestCaseData(Enumerable.Repeat((byte)0xFF, 32).ToArray(), 0x62A8AB43u).SetName("32 bytes of ones");
        yield return new TestCaseData(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), 0x46DD794Eu).SetName("32 incrementing bytes");
        yield return new TestCaseData(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(), 0x113FDB5Cu).SetName("32 decrementing bytes");
        byte[] iscsiRead =
        [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        yield return new TestCaseData(iscsiRead, 0xD9963A56u).SetName("iSCSI read command PDU");
        yield return new TestCaseData("123456789"u8.ToArray(), 0xE3069283u).SetName("check string 123456789");
    }

    [TestCaseSource(nameof(Rfc3720Vectors))]
    public void Every_variant_matches_RFC_3720(byte[] data, uint expected)
    {
        Assert.That(Reference(data), Is.EqualTo(expected), "the reference itself");
        foreach (Crc32CVariant variant in SupportedVariants())
            Assert.That(Crc32C.Compute(variant, 0, data), Is.EqualTo(expected), variant.ToString());
        foreach (Isa isa in SupportedIsas())
        {
            PsyneRuntime.SelectIsa(isa);
            Assert.That(Crc32C.Compute(data), Is.EqualTo(expected), $"public API at {isa}");
        }
    }

    [Test]
    public void Every_variant_matches_the_reference_for_every_length_to_4096_at_unaligned_offsets()
    {
        var random = new Random(20261123);
        byte[] buffer = new byte[4096 + 16];
        random.NextBytes(buffer);
        Crc32CVariant[] variants = SupportedVariants().ToArray();
        Assert.That(variants, Has.Length.GreaterThanOrEqualTo(2), "at least AUTO and TABLE run everywhere");
        int mismatches = 0;
        string first = "";
        for (int length = 0; length <= 4096; length++)
        {
            int offset = length % 8; // 0..7: every misalignment of a 64-bit load
            ReadOnlySpan<byte> data = buffer.AsSpan(offset, length);
            uint expected = Reference(data);
            foreach (Crc32CVariant variant in variants)
            {
                uint actual = Crc32C.Compute(variant, 0, data);
                if (actual != expected && mismatches++ == 0)
                    first = $"{variant} at length {length}, offset {offset}: 0x{actual:X8} != 0x{expected:X8}";
            }
        }
        Assert.That(mismatches, Is.Zero, first);
    }

    [Test]
    public void Public_API_matches_the_reference_at_every_ISA_including_large_buffers()
    {
        var random = new Random(5);
        foreach (int length in new[] { 0, 1, 7, 64, 127, 128, 129, 255, 4095, 4096, 4097, 65536 + 3, (1 << 20) + 13 })
        {
            byte[] data = new byte[length + 5];
            random.NextBytes(data);
            ReadOnlySpan<byte> span = data.AsSpan(5); // unaligned
            uint expected = Reference(span);
            foreach (Isa isa in SupportedIsas())
            {
                PsyneRuntime.SelectIsa(isa);
                Assert.That(Crc32C.Compute(span), Is.EqualTo(expected), $"length {length} at {isa}");
            }
        }
    }

    [Test]
    public void Appending_equals_computing_the_concatenation()
    {
        byte[] data = new byte[10_000];
        new Random(3).NextBytes(data);
        foreach (int split in new[] { 0, 1, 63, 4096, 5000, 10_000 })
        {
            uint chained = Crc32C.Append(Crc32C.Compute(data.AsSpan(0, split)), data.AsSpan(split));
            Assert.That(chained, Is.EqualTo(Crc32C.Compute(data)), $"split at {split}");
        }
    }

    [Test]
    public void Hash_writes_little_endian_and_rejects_a_short_destination()
    {
        Span<byte> destination = stackalloc byte[8];
        Assert.That(Crc32C.Hash("123456789"u8, destination), Is.EqualTo(4));
        Assert.That(destination[..4].ToArray(), Is.EqualTo(new byte[] { 0x83, 0x92, 0x06, 0xE3 }));

        var e = Assert.Throws<ArgumentException>(() => Crc32C.Hash("abc"u8, new byte[3]));
        Assert.That(e!.Message, Does.Contain("3 byte(s)").And.Contain("needs 4"));
        Assert.Throws<ArgumentException>(() => Crc32C.Hash("abc"u8, Span<byte>.Empty));
    }

    [Test]
    public void A_null_array_is_an_ArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>(() => Crc32C.Compute((byte[])null!));
    }

    [Test]
    public void An_undefined_variant_is_a_typed_argument_error()
    {
        var e = Assert.Throws<PsyneArgumentException>(() => Crc32C.Compute((Crc32CVariant)42, 0, [1]));
        Assert.That(e!.ErrorCode, Is.EqualTo(PsyneErrorCode.InvalidArgument));
        Assert.That(e.Message, Is.Not.Empty);
    }

    [Test]
    public void The_selected_variant_follows_the_ISA()
    {
        PsyneRuntime.SelectIsa(Isa.Scalar);
        Assert.That(Crc32C.SelectedVariant, Is.EqualTo(Crc32CVariant.Table));
        if (Capabilities.Detect().DetectedIsa >= Isa.Avx2)
        {
            PsyneRuntime.SelectIsa(Isa.Avx2);
            Assert.That(Crc32C.SelectedVariant, Is.EqualTo(Crc32CVariant.Hardware));
        }
        if (Capabilities.Detect().DetectedIsa >= Isa.Avx512 && Capabilities.Detect().Cpu.Features.Contains("vpclmulqdq"))
        {
            PsyneRuntime.SelectIsa(Isa.Avx512);
            Assert.That(Crc32C.SelectedVariant, Is.EqualTo(Crc32CVariant.VectorClmul));
        }
    }
}
