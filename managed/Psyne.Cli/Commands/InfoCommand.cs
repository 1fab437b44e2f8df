using System.CommandLine;
using System.Text.Json;
using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary><c>psyne info [--json]</c>: what this machine and build can do.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the capabilities as JSON." };
        var command = new Command("info", "Show the library version, CPU features, ISA and optional system libraries.") { json };
        command.SetAction(result => CliErrors.Run(() => Run(result.GetValue(json))));
        return command;
    }

    private static int Run(bool json)
    {
        Capabilities caps = Capabilities.Detect();
        if (json)
            WriteJson(caps, Console.OpenStandardOutput());
        else
            WriteTable(caps);
        return 0;
    }

    internal static void WriteJson(Capabilities caps, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("version", caps.Version);
        w.WriteStartObject("cpu");
        w.WriteString("vendor", caps.Cpu.Vendor);
        w.WriteString("brand", caps.Cpu.Brand);
        w.WriteNumber("logicalCpus", caps.Cpu.LogicalCpus);
        w.WriteNumber("cacheLineBytes", caps.Cpu.CacheLineBytes);
        w.WriteStartArray("features");
        foreach (string f in caps.Cpu.Features)
            w.WriteStringValue(f);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("isa");
        w.WriteString("detected", Name(caps.DetectedIsa));
        w.WriteString("selected", Name(caps.SelectedIsa));
        w.WriteEndObject();
        w.WriteString("crc32c", caps.Crc32CVariant.ToString());
        w.WriteStartArray("systemLibraries");
        foreach (SystemLibraryStatus lib in caps.SystemLibraries)
        {
            w.WriteStartObject();
            w.WriteString("name", lib.Name);
            w.WriteBoolean("available", lib.Available);
            w.WriteString("library", lib.Library);
            w.WriteString("detail", lib.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
        output.Flush();
    }

    private static void WriteTable(Capabilities caps)
    {
        var summary = new Table().Title($"Psyne {caps.Version}").AddColumns("Property", "Value");
        summary.AddRow("CPU", Markup.Escape($"{caps.Cpu.Brand} ({caps.Cpu.Vendor}), {caps.Cpu.LogicalCpus} logical CPUs"));
        summary.AddRow("Features", Markup.Escape(string.Join(' ', caps.Cpu.Features)));
        summary.AddRow("ISA detected", Name(caps.DetectedIsa));
        summary.AddRow("ISA selected", Name(caps.SelectedIsa) + (caps.SelectedIsa != caps.DetectedIsa ? " (lowered)" : ""));
        summary.AddRow("CRC32C", caps.Crc32CVariant.ToString());
        AnsiConsole.Write(summary);

        var libs = new Table().Title("Optional system libraries").AddColumns("Library", "Available", "Detail");
        foreach (SystemLibraryStatus lib in caps.SystemLibraries)
            libs.AddRow(Markup.Escape(lib.Name), lib.Available ? "[green]yes[/]" : "[red]no[/]", Markup.Escape(lib.Detail));
        AnsiConsole.Write(libs);
    }

    internal static string Name(Isa isa) => isa.ToString().ToLowerInvariant();
}
