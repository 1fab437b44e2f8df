using System.CommandLine;
using System.Diagnostics;
using Psyne.Ternary;
using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary><c>psyne ternary quantize &lt;in&gt; &lt;out&gt;</c>: float32 weights (.npy, .safetensors) to a .psyt file.</summary>
internal static class TernaryCommand
{
    public static Command Create()
    {
        var input = new Argument<FileInfo>("in") { Description = "A float32 weight matrix: .npy, or .safetensors (see --tensor)." };
        var output = new Argument<FileInfo>("out") { Description = "The .psyt file to write." };
        var tensor = new Option<string?>("--tensor") { Description = "Which tensor of a safetensors file (needed when it holds more than one 2-D F32 tensor)." };
        var perRow = new Option<bool>("--per-row") { Description = "One absmean scale per output row instead of one for the whole matrix." };
        var quantize = new Command("quantize", "Quantise float32 weights to BitNet b1.58 ternary and save them as .psyt.") { input, output, tensor, perRow };
        quantize.SetAction(r => CliErrors.Run(() => Quantize(r.GetValue(input)!, r.GetValue(output)!, r.GetValue(tensor), r.GetValue(perRow))));
        return new Command("ternary", "Ternary (BitNet b1.58) weights.") { quantize };
    }

    private static int Quantize(FileInfo input, FileInfo output, string? tensor, bool perRow)
    {
        if (!input.Exists)
        {
            Console.Error.WriteLine($"psyne: {input.FullName} does not exist.");
            return CliErrors.Failure;
        }
        var clock = Stopwatch.StartNew();
        FloatMatrix weights = null!;
        TernaryMatrix matrix = null!;
        void Work(Action<string, double> report)
        {
            weights = WeightFile.Read(input.FullName, tensor, new Progress<double>(f => report("read", f)));
            report("read", 1);
            matrix = TernaryMatrix.Quantize(weights.Values, weights.Rows, weights.Cols,
                perRow ? TernaryScaleMode.PerRow : TernaryScaleMode.PerTensor);
            report("quantise", 1);
            matrix.Save(output.FullName);
            report("write", 1);
        }

        if (Console.IsOutputRedirected)
        {
            Work((_, _) => { });
        }
        else
        {
            AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>
                    {
                        ["read"] = ctx.AddTask("read", maxValue: 1),
                        ["quantise"] = ctx.AddTask("quantise", maxValue: 1),
                        ["write"] = ctx.AddTask("write", maxValue: 1),
                    };
                    Work((step, fraction) => tasks[step].Value = fraction);
                });
        }

        using (matrix)
        {
            float[] scales = new float[matrix.ScaleMode == TernaryScaleMode.PerRow ? matrix.Rows : 1];
            matrix.GetScales(scales);
            long floatBytes = (long)weights.Rows * weights.Cols * sizeof(float);
            var table = new Table().AddColumns("Property", "Value");
            table.AddRow("Tensor", Markup.Escape(weights.Name));
            table.AddRow("Shape", $"{matrix.Rows} x {matrix.Cols}");
            table.AddRow("Scale", matrix.ScaleMode == TernaryScaleMode.PerRow
                ? $"per row ({scales.Min():G4} .. {scales.Max():G4})" : $"{scales[0]:G6} (per tensor)");
            table.AddRow("Written", Markup.Escape($"{output.FullName} ({matrix.SerializedBytes:N0} bytes, {(double)floatBytes / matrix.SerializedBytes:F1}x smaller than float32)"));
            table.AddRow("Time", $"{clock.Elapsed.TotalSeconds:F2} s");
            AnsiConsole.Write(table);
        }
        return 0;
    }
}
