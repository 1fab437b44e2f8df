using System.CommandLine;
using System.Diagnostics;
using Psyne.Benchmarks.Peers;
using Psyne.Ternary;
using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary>
/// <c>psyne demo</c>: a short tour of what works today, each step checked against an
/// independent result so the demo fails loudly if something is wrong.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Show what Psyne can do on this machine, checking every result.");
        command.SetAction(_ => CliErrors.Run(Run));
        return command;
    }

    private static int Run()
    {
        Capabilities caps = Capabilities.Detect();
        AnsiConsole.MarkupLineInterpolated($"[bold]Psyne {caps.Version}[/] on {caps.Cpu.Brand} ({caps.Cpu.LogicalCpus} CPUs), ISA [bold]{InfoCommand.Name(caps.SelectedIsa)}[/] (detected {InfoCommand.Name(caps.DetectedIsa)})");

        int failures = Crc32CStep(caps) + MemoryStep() + TernaryStep() + ChannelDemo.Run() + SocketsDemo.Run();
        SystemLibrariesStep(caps);

        if (failures > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]demo: {failures} check(s) failed[/]");
            return CliErrors.Failure;
        }
        AnsiConsole.MarkupLine("[green]demo: every check passed[/]");
        return 0;
    }

    private static int Crc32CStep(Capabilities caps)
    {
        AnsiConsole.Write(new Rule("CRC32C over 16 MiB, every variant this CPU runs"));
        byte[] data = new byte[16 << 20];
        new Random(7).NextBytes(data);
        uint reference = Crc32CPeers.BitOperationsLoop(data);
        var table = new Table().AddColumns("Variant", "CRC32C", "GB/s", "Matches .NET");
        int failures = 0;
        foreach (Crc32CVariant variant in Enum.GetValues<Crc32CVariant>().Where(v => v != Crc32CVariant.Auto))
        {
            try
            {
                long start = Stopwatch.GetTimestamp();
                uint crc = Crc32C.Compute(variant, 0, data);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                bool ok = crc == reference;
                failures += ok ? 0 : 1;
                table.AddRow(variant.ToString(), $"0x{crc:X8}", $"{data.Length / seconds / 1e9:F1}", ok ? "[green]yes[/]" : "[red]NO[/]");
            }
            catch (PsyneUnsupportedException e)
            {
                table.AddRow(variant.ToString(), "", "", Markup.Escape($"unavailable: {e.Message}"));
            }
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"In use: [bold]{caps.Crc32CVariant}[/] (set PSYNE_ISA=scalar|avx2|avx512 to change)");
        return failures;
    }

    private static int MemoryStep()
    {
        AnsiConsole.Write(new Rule("Aligned, huge-page-backed memory"));
        using NativeBuffer buffer = NativeBuffer.Allocate(8 << 20, alignment: 4096, hugePages: true);
        buffer.Span.Fill(0x5A);
        bool ok = buffer.Span.IndexOfAnyExcept((byte)0x5A) < 0;
        AnsiConsole.MarkupLineInterpolated($"8 MiB block backed by {buffer.Backing}, written and read back: {(ok ? "ok" : "MISMATCH")}");
        return ok ? 0 : 1;
    }

    private static int TernaryStep()
    {
        AnsiConsole.Write(new Rule("Ternary (BitNet b1.58) linear layer, 4096 x 4096"));
        const int rows = 4096, cols = 4096;
        float[] w = GemvPeers.RandomWeights(rows * cols, 1);
        float[] x = GemvPeers.RandomWeights(cols, 2);
        using BitLinear layer = BitLinear.FromFloat(w, rows, cols);
        float[] y = new float[rows];
        layer.Forward(x, y);
        long start = Stopwatch.GetTimestamp();
        const int calls = 50;
        for (int i = 0; i < calls; i++)
            layer.Forward(x, y);
        double micros = Stopwatch.GetElapsedTime(start).TotalMicroseconds / calls;

        // Check against float64 arithmetic on the dequantised weights and activations.
        sbyte[] wq = new sbyte[rows * cols];
        layer.Weights.Unpack(wq);
        float[] scale = new float[1];
        layer.Weights.GetScales(scale);
        sbyte[] xq = new sbyte[cols];
        float[] absMax = new float[1];
        ActivationQuantizer.Quantize(x, cols, xq, absMax);
        double worst = 0;
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int k = 0; k < cols; k++)
                sum += wq[r * cols + k] * (double)xq[k];
            double expected = sum * scale[0] * absMax[0] / 127.0;
            worst = Math.Max(worst, Math.Abs(y[r] - expected) / Math.Max(1e-3, Math.Abs(expected)));
        }
        bool ok = worst < 1e-4;
        AnsiConsole.MarkupLineInterpolated(
            $"{TernaryMatrix.SelectedKernel} kernel, {PsyneRuntime.Threads} thread(s): {micros:F0} µs per token, 16 M weights in {layer.Weights.PackedBytes >> 20} MiB; worst relative error vs float64 {worst:E1}: {(ok ? "ok" : "TOO LARGE")}");
        return ok ? 0 : 1;
    }

    private static void SystemLibrariesStep(Capabilities caps)
    {
        AnsiConsole.Write(new Rule("Optional system libraries"));
        foreach (SystemLibraryStatus lib in caps.SystemLibraries)
        {
            string state = lib.Available ? "[green]available[/]  " : "[grey]unavailable[/]";
            AnsiConsole.MarkupLine($"{state} {Markup.Escape(lib.Name)}: {Markup.Escape(lib.Detail)}");
        }
    }
}
