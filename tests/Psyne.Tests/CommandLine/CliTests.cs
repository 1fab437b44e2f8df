using System.Text.Json;
using Psyne.Tests.Support;

namespace Psyne.Tests.CommandLine;

/// <summary>The psyne command, run as a real process.</summary>
[TestFixture]
public class CliTests
{
    [Test]
    public void Info_json_reports_version_ISA_and_every_optional_library()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "info", "--json");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement info = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.That(info.GetProperty("version").GetString(), Is.EqualTo(Capabilities.Detect().Version));
        Assert.That(info.GetProperty("isa").GetProperty("detected").GetString(), Is.AnyOf("scalar", "avx2", "avx512"));
        JsonElement[] libs = info.GetProperty("systemLibraries").EnumerateArray().ToArray();
        Assert.That(libs, Has.Length.EqualTo(7));
        foreach (JsonElement lib in libs)
        {
            Assert.That(lib.GetProperty("available").ValueKind, Is.AnyOf(JsonValueKind.True, JsonValueKind.False));
            Assert.That(lib.GetProperty("detail").GetString(), Is.Not.Empty);
        }
    }

    [Test]
    public void Info_prints_a_table_for_people()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "info");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain("ISA selected").And.Contain("Optional system libraries").And.Contain("libfabric"));
    }

    [Test]
    public void Bench_json_is_an_array_of_results_with_peers_and_consistent_ratios()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "crc32c", "--json", "--budget-ms", "20");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement[] results = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(results, Has.Length.EqualTo(8), "4 sizes x 2 peers");
        foreach (JsonElement x in results)
        {
            Assert.That(x.GetProperty("suite").GetString(), Is.EqualTo("crc32c"));
            Assert.That(x.GetProperty("unit").GetString(), Is.EqualTo("GB/s"));
            double value = x.GetProperty("value").GetDouble();
            double peer = x.GetProperty("peerValue").GetDouble();
            Assert.That(value, Is.GreaterThan(0));
            Assert.That(peer, Is.GreaterThan(0));
            Assert.That(x.GetProperty("peer").GetString(), Is.Not.Empty);
            Assert.That(x.GetProperty("ratio").GetDouble(), Is.EqualTo(value / peer).Within(1).Percent);
        }
    }

    [Test]
    public void Bench_interop_reports_nanoseconds_per_call()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "interop", "--json", "--budget-ms", "20");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement x = JsonDocument.Parse(r.Stdout).RootElement[0];
        Assert.That(x.GetProperty("unit").GetString(), Is.EqualTo("ns"));
        Assert.That(x.GetProperty("ratio").GetDouble(), Is.EqualTo(x.GetProperty("peerValue").GetDouble() / x.GetProperty("value").GetDouble()).Within(1).Percent,
            "for a time, the ratio is peer / psyne");
    }

    [Test]
    public void Bench_sockets_measures_every_peer_or_says_why_not()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "sockets", "--json", "--budget-ms", "20");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement[] results = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(results.Select(x => x.GetProperty("peer").GetString()), Has.Some.StartsWith("raw TCP").And.Some.StartsWith("NetMQ").And.Some.StartsWith("libzmq"));
        Assert.That(results.Select(x => x.GetProperty("case").GetString()).Distinct().Count(), Is.EqualTo(3), "32 B and 64 KiB PUSH/PULL, REQ/REP round trip");
        foreach (JsonElement x in results)
        {
            Assert.That(x.GetProperty("suite").GetString(), Is.EqualTo("sockets"));
            JsonElement peerValue = x.GetProperty("peerValue");
            if (peerValue.ValueKind == JsonValueKind.Null)
                Assert.That(x.GetProperty("note").GetString(), Does.StartWith("unavailable: "), "a peer that was not measured says why");
            else
                Assert.That(peerValue.GetDouble(), Is.GreaterThan(0));
            JsonElement value = x.GetProperty("value");
            if (value.ValueKind != JsonValueKind.Null && peerValue.ValueKind != JsonValueKind.Null)
                Assert.That(x.GetProperty("ratio").ValueKind, Is.EqualTo(JsonValueKind.Number), "a Psyne value next to a peer value has a ratio");
        }
    }

    [Test]
    public void An_unknown_bench_suite_is_refused_with_the_choices()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "warp-drive");
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr + r.Stdout, Does.Contain("warp-drive").And.Contain("crc32c"));
    }

    [Test]
    public void Demo_runs_and_every_check_passes()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "demo");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain("every check passed"));
    }
}
