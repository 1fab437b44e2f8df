using System.CommandLine;
using System.Text.Json;
using Psyne.Cli.Bench;
using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary><c>psyne bench &lt;suite&gt; [--json]</c>: quick measurements against a peer in the same run.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        string[] names = [.. BenchSuites.All.Select(s => s.Name), "all"];
        var suite = new Argument<string>("suite")
        {
            Description = "What to measure: " + string.Join(", ", BenchSuites.All.Select(s => $"{s.Name} ({s.Description})")) + ", or all.",
        };
        suite.AcceptOnlyFromAmong(names);
        var json = new Option<bool>("--json") { Description = "Print an array of {suite, case, unit, value, peer, peerValue, ratio, note, target, targetMet} instead of a table." };
        var budget = new Option<int>("--budget-ms")
        {
            Description = "Time spent on each measurement, in milliseconds (longer is steadier).",
            DefaultValueFactory = _ => 300,
        };
        var filter = new Option<string?>("--filter")
        {
            Description = "Run only the cases whose name contains this text (ignoring case), e.g. \"cold\" for the cold GEMV rows of the ternary suite.",
        };
        var command = new Command("bench", "Measure Psyne against the closest peer in the same run (ratio > 1: Psyne is better).")
        {
            suite, json, budget, filter,
        };
        command.SetAction(r => CliErrors.Run(() => Run(r.GetValue(suite)!, r.GetValue(json), r.GetValue(budget), r.GetValue(filter))));
        return command;
    }

    private static int Run(string suiteName, bool json, int budgetMs, string? filter)
    {
        if (budgetMs < 10)
        {
            Console.Error.WriteLine("psyne: --budget-ms must be at least 10.");
            return CliErrors.Failure;
        }
        IReadOnlyList<IBenchSuite> suites = suiteName.Equals("all", StringComparison.OrdinalIgnoreCase)
            ? BenchSuites.All
            : [BenchSuites.Find(suiteName)!];
        var budget = TimeSpan.FromMilliseconds(budgetMs);
        bool filtered = !string.IsNullOrEmpty(filter);
        var cases = suites.SelectMany(s => !filtered ? s.Cases(budget)
            : s.FiltersCases ? s.Cases(budget, filter!)
            : s.Cases(budget).Select(run => (Func<IEnumerable<BenchResult>>)(() => run().Where(r => Matches(r.Case, filter!)).ToList()))).ToList();
        var results = new List<BenchResult>();

        if (json || Console.IsOutputRedirected)
        {
            foreach (var run in cases)
                results.AddRange(run());
        }
        else
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"bench {suiteName}", maxValue: cases.Count);
                    foreach (var run in cases)
                    {
                        results.AddRange(run());
                        task.Increment(1);
                    }
                });
        }

        if (json)
            WriteJson(results, Console.OpenStandardOutput());
        else
            WriteTable(results, suites);
        return 0;
    }

    internal static bool Matches(string caseName, string filter) => caseName.Contains(filter, StringComparison.OrdinalIgnoreCase);

    internal static void WriteJson(IEnumerable<BenchResult> results, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartArray();
        foreach (BenchResult r in results)
        {
            w.WriteStartObject();
            w.WriteString("suite", r.Suite);
            w.WriteString("case", r.Case);
            w.WriteString("unit", r.Unit);
            WriteNullable(w, "value", double.IsFinite(r.Value) ? r.Value : null);
            WriteNullable(w, "peer", r.Peer);
            WriteNullable(w, "peerValue", r.PeerValue);
            WriteNullable(w, "ratio", r.Ratio);
            WriteNullable(w, "note", r.Note);
            WriteNullable(w, "target", r.Target);
            if (r.TargetMet is { } met) w.WriteBoolean("targetMet", met);
            else w.WriteNull("targetMet");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.Flush();
        output.WriteByte((byte)'\n');
        output.Flush();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteString(name, value);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is null) w.WriteNull(name);
        else w.WriteNumber(name, Math.Round(value.Value, 4));
    }

    private static void WriteTable(IReadOnlyList<BenchResult> results, IReadOnlyList<IBenchSuite> suites)
    {
        bool targets = results.Any(r => r.Target is not null);
        var table = new Table().AddColumns("Suite", "Case", "Psyne", "Peer", "Peer value", "Ratio");
        if (targets)
            table.AddColumn("Target");
        foreach (BenchResult r in results)
        {
            string ratio = r.Ratio is { } x ? (x >= 1 ? $"[green]{x:F2}x[/]" : $"[red]{x:F2}x[/]") : "";
            string value = double.IsFinite(r.Value) ? $"{r.Value:G4} {r.Unit}" : "n/a";
            string peerValue = r.PeerValue is { } p ? $"{p:G4} {r.Unit}" : "";
            if (r.Note is not null)
                peerValue = peerValue.Length == 0 ? r.Note : $"{peerValue} ({r.Note})";
            var cells = new List<string>
            {
                Markup.Escape(r.Suite), Markup.Escape(r.Case), Markup.Escape(value),
                Markup.Escape(r.Peer ?? ""), Markup.Escape(peerValue), ratio,
            };
            if (targets)
                cells.Add(TargetCell(r));
            table.AddRow([.. cells]);
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Ratio: how many times better Psyne did than the peer in this run (higher is better).[/]");
        if (targets)
            AnsiConsole.MarkupLine("[grey]Target: the ratio Psyne is meant to reach against that peer; met or missed in this run.[/]");
        foreach (IBenchSuite suite in suites)
        {
            if (suite.Method is { } method)
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(method)}[/]");
        }
        if (results.Any(r => !double.IsFinite(r.Value)))
            AnsiConsole.MarkupLine("[grey]n/a: Psyne's side of that case is not written yet; the peers are measured alone.[/]");
    }

    private static string TargetCell(BenchResult r) => (r.Target, r.TargetMet) switch
    {
        (null, _) => "",
        ({ } t, true) => $"≥ {t:F2}x: [green]met[/]",
        ({ } t, false) => $"≥ {t:F2}x: [red]missed[/]",
        ({ } t, null) => $"≥ {t:F2}x: not measured",
    };
}
