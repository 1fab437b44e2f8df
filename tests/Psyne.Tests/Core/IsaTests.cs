using System.Text.Json;
using Psyne.Tests.Support;

namespace Psyne.Tests.Core;

/// <summary>ISA selection in-process and through PSYNE_ISA in real child processes.</summary>
[TestFixture]
public class IsaTests
{
    [Test]
    public void Every_ISA_up_to_the_detected_one_can_be_selected_and_higher_ones_fail_without_changing_it()
    {
        Isa before = PsyneRuntime.SelectedIsa;
        Isa detected = Capabilities.Detect().DetectedIsa;
        try
        {
            foreach (Isa isa in Enum.GetValues<Isa>())
            {
                if (isa <= detected)
                {
                    PsyneRuntime.SelectIsa(isa);
                    Assert.That(PsyneRuntime.SelectedIsa, Is.EqualTo(isa));
                    Assert.That(Capabilities.Detect().SelectedIsa, Is.EqualTo(isa));
                }
                else
                {
                    Isa current = PsyneRuntime.SelectedIsa;
                    var e = Assert.Throws<PsyneUnsupportedException>(() => PsyneRuntime.SelectIsa(isa));
                    Assert.That(e!.Message, Does.Contain("lacks"));
                    Assert.That(PsyneRuntime.SelectedIsa, Is.EqualTo(current));
                }
            }
            Assert.Throws<PsyneArgumentException>(() => PsyneRuntime.SelectIsa((Isa)9));
        }
        finally
        {
            PsyneRuntime.SelectIsa(before);
        }
    }

    [TestCase("scalar", Isa.Scalar)]
    [TestCase("AVX2", Isa.Avx2)]
    [TestCase("avx512", Isa.Avx512)]
    public void Names_parse_as_PSYNE_ISA_accepts_them(string name, Isa expected) =>
        Assert.That(PsyneRuntime.ParseIsa(name), Is.EqualTo(expected));

    [Test]
    public void An_unknown_name_is_a_typed_error_that_lists_the_choices()
    {
        var e = Assert.Throws<PsyneArgumentException>(() => PsyneRuntime.ParseIsa("sse9"));
        Assert.That(e!.Message, Does.Contain("sse9").And.Contain("scalar, avx2, avx512"));
    }

    private static JsonElement InfoJson(string? isa)
    {
        ChildProcess.Result r = ChildProcess.Psyne(new Dictionary<string, string?> { ["PSYNE_ISA"] = isa }, "info", "--json");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    [TestCase("scalar")]
    [TestCase("avx2")]
    [TestCase("avx512")]
    public void PSYNE_ISA_changes_the_selected_ISA_of_a_new_process(string isa)
    {
        JsonElement unforced = InfoJson(null);
        string detected = unforced.GetProperty("isa").GetProperty("detected").GetString()!;
        Assert.That(unforced.GetProperty("isa").GetProperty("selected").GetString(), Is.EqualTo(detected));
        if (PsyneRuntime.ParseIsa(isa) > PsyneRuntime.ParseIsa(detected))
        {
            ChildProcess.Result refused = ChildProcess.Psyne(new Dictionary<string, string?> { ["PSYNE_ISA"] = isa }, "info", "--json");
            Assert.That(refused.ExitCode, Is.Not.Zero);
            Assert.That(refused.Stderr, Does.Contain("PsyneUnsupportedException").And.Contain($"PSYNE_ISA={isa}"));
            return;
        }
        JsonElement forced = InfoJson(isa);
        Assert.That(forced.GetProperty("isa").GetProperty("selected").GetString(), Is.EqualTo(isa));
        Assert.That(forced.GetProperty("isa").GetProperty("detected").GetString(), Is.EqualTo(detected));
        string expectedCrc = isa switch
        {
            "scalar" => "Table",
            "avx2" => "Hardware",
            _ => unforced.GetProperty("cpu").GetProperty("features").EnumerateArray().Any(f => f.GetString() == "vpclmulqdq")
                ? "VectorClmul" : "Hardware",
        };
        Assert.That(forced.GetProperty("crc32c").GetString(), Is.EqualTo(expectedCrc));
    }

    [Test]
    public void An_unknown_PSYNE_ISA_value_is_a_clear_typed_error_not_a_crash()
    {
        ChildProcess.Result r = ChildProcess.Psyne(new Dictionary<string, string?> { ["PSYNE_ISA"] = "sse9" }, "info", "--json");
        Assert.That(r.ExitCode, Is.EqualTo(1), r.ToString());
        Assert.That(r.Stderr, Does.Contain("PsyneArgumentException").And.Contain("PSYNE_ISA=sse9").And.Contain("scalar, avx2, avx512"));
        Assert.That(r.Stderr, Does.Not.Contain("   at "), "no stack trace");
    }
}
