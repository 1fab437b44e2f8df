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
    public void Bench_sockets_measures_psyne_against_every_peer_or_says_why_not()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "sockets", "--json", "--budget-ms", "20");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement[] results = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(results.Select(x => x.GetProperty("peer").GetString()), Has.Some.StartsWith("raw TCP").And.Some.StartsWith("NetMQ").And.Some.StartsWith("libzmq"));
        string[] cases = [.. results.Select(x => x.GetProperty("case").GetString()!).Distinct()];
        Assert.That(cases.Count(c => !c.Contains("(information)")), Is.EqualTo(3), "32 B and 64 KiB PUSH/PULL, REQ/REP round trip");
        Assert.That(cases.Count(c => c.Contains("(information)")), Is.EqualTo(2), "unix-socket and inproc PUSH/PULL");
        foreach (JsonElement x in results)
        {
            Assert.That(x.GetProperty("suite").GetString(), Is.EqualTo("sockets"));
            Assert.That(x.GetProperty("value").ValueKind, Is.EqualTo(JsonValueKind.Number), $"Psyne is measured in every case: {x}");
            Assert.That(x.GetProperty("value").GetDouble(), Is.GreaterThan(0));
            JsonElement peerValue = x.GetProperty("peerValue");
            if (peerValue.ValueKind == JsonValueKind.Null)
            {
                Assert.That(x.GetProperty("note").GetString(), Does.StartWith("unavailable: "), "a peer that was not measured says why");
                Assert.That(x.GetProperty("ratio").ValueKind, Is.EqualTo(JsonValueKind.Null));
                continue;
            }
            Assert.That(peerValue.GetDouble(), Is.GreaterThan(0));
            double value = x.GetProperty("value").GetDouble(), peer = peerValue.GetDouble();
            double expectedRatio = x.GetProperty("unit").GetString() == "µs" ? peer / value : value / peer;
            Assert.That(x.GetProperty("ratio").GetDouble(), Is.EqualTo(expectedRatio).Within(1).Percent, $"the ratio is Psyne's advantage: {x}");
            if (x.GetProperty("target").ValueKind == JsonValueKind.Number)
                Assert.That(x.GetProperty("targetMet").GetBoolean(), Is.EqualTo(x.GetProperty("ratio").GetDouble() >= x.GetProperty("target").GetDouble()));
            else
                Assert.That(x.GetProperty("targetMet").ValueKind, Is.EqualTo(JsonValueKind.Null));
        }

        // The targets: 32 B vs libzmq >= 1.2x; 64 KiB vs libzmq >= 1x and vs raw TCP >= 0.9x; the round trip vs libzmq >= 1x.
        double? Target(string casePrefix, string peerPrefix) => results
            .Where(x => x.GetProperty("case").GetString()!.StartsWith(casePrefix) && x.GetProperty("peer").GetString()!.StartsWith(peerPrefix))
            .Select(x => x.GetProperty("target").ValueKind == JsonValueKind.Number ? x.GetProperty("target").GetDouble() : (double?)null)
            .Single();
        Assert.That(Target("tcp PUSH/PULL, 32 B", "libzmq"), Is.EqualTo(1.2));
        Assert.That(Target("tcp PUSH/PULL, 32 B", "NetMQ"), Is.Null);
        Assert.That(Target("tcp PUSH/PULL, 64 KiB", "libzmq"), Is.EqualTo(1.0));
        Assert.That(Target("tcp PUSH/PULL, 64 KiB", "raw TCP"), Is.EqualTo(0.9));
        Assert.That(Target("tcp REQ/REP", "libzmq"), Is.EqualTo(1.0));
    }

    [Test]
    public void Bench_channel_measures_every_case_against_its_peer_with_issue_4_targets()
    {
        // Real processes on both ends (the ipc readers check every byte; a wrong one fails the run).
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "channel", "--json", "--budget-ms", "20");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        JsonElement[] results = JsonDocument.Parse(r.Stdout).RootElement.EnumerateArray().ToArray();
        Assert.That(results, Has.Length.EqualTo(Environment.ProcessorCount >= 2 ? 13 : 12));
        foreach (JsonElement x in results)
        {
            Assert.That(x.GetProperty("suite").GetString(), Is.EqualTo("channel"));
            Assert.That(x.GetProperty("value").GetDouble(), Is.GreaterThan(0), x.ToString());
            Assert.That(x.GetProperty("peerValue").GetDouble(), Is.GreaterThan(0), x.ToString());
            if (x.GetProperty("target").ValueKind == JsonValueKind.Number)
                Assert.That(x.GetProperty("targetMet").GetBoolean(), Is.EqualTo(x.GetProperty("ratio").GetDouble() >= x.GetProperty("target").GetDouble()));
        }
        JsonElement Row(string prefix) => results.First(x => x.GetProperty("case").GetString()!.StartsWith(prefix));
        Assert.That(Row("inproc SPSC 64 B, 2 threads").GetProperty("target").GetDouble(), Is.EqualTo(2.5));
        Assert.That(Row("inproc SPSC 64 B, 2 threads").GetProperty("note").GetString(), Does.StartWith("target >= 50 M msg/s: "));
        Assert.That(results.Count(x => x.GetProperty("case").GetString()!.StartsWith("inproc SPSC 64 B, 2 threads")), Is.EqualTo(2),
            "the per-message case on a ring that fits L1 and on one that does not");
        Assert.That(Row("inproc SPSC 64 B one at a time").GetProperty("peer").GetString(), Does.StartWith("hand-rolled"),
            "the machine's own limit for the per-message protocol, measured in the same run");
        Assert.That(Row("inproc SPSC 64 B one at a time").GetProperty("target").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(results.Count(x => x.GetProperty("case").GetString()!.StartsWith("inproc SPSC 64 B one at a time")), Is.EqualTo(2),
            "both ring sizes against the hand-rolled ring");
        Assert.That(Row("ipc SPSC 64 B").GetProperty("note").GetString(), Does.StartWith("target >= 20 M msg/s: "));
        Assert.That(results.Where(x => x.GetProperty("case").GetString()!.StartsWith("ipc SPSC 64 B")).Select(x => x.GetProperty("peer").GetString()),
            Has.Some.StartsWith("anonymous pipe").And.Some.StartsWith("NetMQ").And.Some.StartsWith("libzmq"),
            "the ipc stream against a pipe, NetMQ's ipc:// and libzmq's ipc://, each to a real child process");
        Assert.That(Row("ipc ping-pong 64 B, futex").GetProperty("target").GetDouble(), Is.EqualTo(1.0));
        Assert.That(Row("ipc 1 MiB").GetProperty("target").GetDouble(), Is.EqualTo(0.5));
    }

    [Test]
    public void Bench_sockets_table_states_each_target_and_the_method()
    {
        ChildProcess.Result r = ChildProcess.Psyne(null, "bench", "sockets", "--budget-ms", "10");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        string text = PlainText(r.Stdout);
        Assert.That(text, Does.Contain("Target").And.Contain("interleaved"));
        Assert.That(text, Does.Contain("1.20x").And.Contain("0.90x"), "the targets are stated");
        Assert.That(text, Does.Match(@"\b(met|missed)\s*[│|]"), "a target cell says whether this run met it");
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
        // The sockets step: a PUB/SUB and a REQ/REP exchange with libzmq (NetMQ where libzmq is missing), both checked.
        string text = PlainText(r.Stdout);
        Assert.That(text, Does.Contain("ZeroMQ sockets: Psyne and"));
        Assert.That(text, Does.Match(@"ok\s+PUB/SUB\s+Psyne\s+PUB\s+to\s+(libzmq|NetMQ)"));
        Assert.That(text, Does.Match(@"ok\s+REQ/REP\s+Psyne\s+REQ\s+to\s+(libzmq|NetMQ)"));
        Assert.That(text, Does.Match(@"10000\s+published").And.Match(@"5000\s+received").And.Match(@"1000\s+round\s+trips"));
    }

    [Test]
    public void Demo_falls_back_to_netmq_for_the_sockets_exchange()
    {
        ChildProcess.Result r = ChildProcess.Psyne(new Dictionary<string, string?> { ["PSYNE_DEMO_ZMQ_PEER"] = "netmq" }, "demo");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        string text = PlainText(r.Stdout);
        Assert.That(text, Does.Contain("Psyne and NetMQ").And.Match(@"the\s+other\s+side\s+is\s+NetMQ"));
        Assert.That(text, Does.Match(@"ok\s+PUB/SUB\s+Psyne\s+PUB\s+to\s+NetMQ"));
        Assert.That(text, Does.Match(@"ok\s+REQ/REP\s+Psyne\s+REQ\s+to\s+NetMQ"));
    }

    /// <summary>Console output without ANSI colour codes (Spectre.Console writes them where the terminal type allows).</summary>
    private static string PlainText(string output) => System.Text.RegularExpressions.Regex.Replace(output, @"\x1b\[[0-9;]*[A-Za-z]", "");
}
