using System.Security.Cryptography;
using System.Text;

namespace Psyne.Bindgen;

/// <summary>The generated C# and the headers it came from.</summary>
/// <param name="Code">The C# file (LF line endings).</param>
/// <param name="Headers">Full paths of the bound headers that were read (the input header and the project headers it includes).</param>
/// <param name="HeaderDisplayPath">The input header relative to the base directory, as written into the output.</param>
public sealed record BindgenResult(string Code, IReadOnlyList<string> Headers, string HeaderDisplayPath);

/// <summary>
/// C header → raw C# P/Invoke bindings, through clang's JSON AST. Also writes and checks the stamp
/// file (<c>&lt;out&gt;.sha256</c>) that the build uses to detect stale or hand-edited bindings.
/// </summary>
public static class BindingGenerator
{
    /// <summary>How to regenerate, quoted in messages.</summary>
    public const string RegenerateCommand = "./build.sh --target=Bindings";

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Generates the C# for <paramref name="options"/>.</summary>
    /// <exception cref="ClangException">clang is missing or failed.</exception>
    /// <exception cref="UnsupportedConstructException">the header uses something the generator does not map.</exception>
    public static string Generate(BindgenOptions options) => Run(options).Code;

    /// <summary>Generates the C# and lists the headers it depends on.</summary>
    public static BindgenResult Run(BindgenOptions options)
    {
        string baseDirectory = Path.GetFullPath(options.BaseDirectory);
        string header = Path.GetFullPath(options.HeaderPath, baseDirectory);
        if (!File.Exists(header))
            throw new BindgenException($"header not found: {Paths.Relative(baseDirectory, header)}");
        var includes = options.IncludeDirectories.Select(d => Path.GetFullPath(d, baseDirectory)).ToList();

        var clang = ClangRunner.Run(options.ClangPath, baseDirectory, header, includes);
        var ast = ClangAst.Parse(clang.Json, baseDirectory);
        var scope = new Scope(header, includes);
        var model = new Translator(ast, scope, baseDirectory).Translate();

        string display = Paths.Relative(baseDirectory, header);
        string code = CSharpEmitter.Emit(model, options, display);

        var headers = new HashSet<string>(StringComparer.Ordinal) { header };
        headers.UnionWith(ast.FilesSeen.Where(scope.Contains));
        headers.UnionWith(clang.IncludedFiles.Where(scope.Contains));
        return new BindgenResult(code, headers.Order(StringComparer.Ordinal).ToList(), display);
    }

    /// <summary>The stamp next to an output: <c>bindings/Psyne.Native.g.cs</c> → <c>bindings/Psyne.Native.g.sha256</c>.</summary>
    public static string StampPath(string outputPath) => Path.ChangeExtension(outputPath, ".sha256");

    /// <summary>
    /// The stamp: <c>&lt;sha256&gt;  &lt;path&gt;</c> lines (paths relative to the stamp's folder, forward
    /// slashes): the generated file first, then each header, ordered by path.
    /// </summary>
    public static string ComputeStamp(string code, IEnumerable<string> headers, string outputPath)
    {
        string output = Path.GetFullPath(outputPath);
        string stampDirectory = Path.GetDirectoryName(Path.GetFullPath(StampPath(output)))!;
        var sb = new StringBuilder();
        sb.Append(Sha256(Utf8NoBom.GetBytes(code))).Append("  ").Append(Paths.Relative(stampDirectory, output)).Append('\n');
        foreach (var (relative, full) in headers.Select(h => (Paths.Relative(stampDirectory, h), h)).OrderBy(h => h.Item1, StringComparer.Ordinal))
            sb.Append(Sha256(File.ReadAllBytes(full))).Append("  ").Append(relative).Append('\n');
        return sb.ToString();
    }

    /// <summary>Writes the C# file and its stamp.</summary>
    public static void Write(BindgenResult result, string outputPath)
    {
        string output = Path.GetFullPath(outputPath);
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, result.Code, Utf8NoBom);
        File.WriteAllText(StampPath(output), ComputeStamp(result.Code, result.Headers, output), Utf8NoBom);
    }

    /// <summary>
    /// Compares a fresh result with the files on disk. Returns null when both the C# file and its stamp
    /// match; otherwise the message to print (which file is stale and the first differing line).
    /// </summary>
    public static string? Check(BindgenResult result, string outputPath, string baseDirectory)
    {
        baseDirectory = Path.GetFullPath(baseDirectory);
        string output = Path.GetFullPath(outputPath, baseDirectory);
        string stamp = StampPath(output);
        string? difference =
            FirstDifference(result.Code, ReadOrNull(output), Paths.Relative(baseDirectory, output))
            ?? FirstDifference(ComputeStamp(result.Code, result.Headers, output), ReadOrNull(stamp), Paths.Relative(baseDirectory, stamp));
        if (difference == null)
            return null;
        return $"{Paths.Relative(baseDirectory, output)} is out of date with {result.HeaderDisplayPath}: "
            + $"regenerate it with {RegenerateCommand} and commit the result\n{difference}";
    }

    /// <summary>Null when equal; else where the first line differs, with both versions of the line.</summary>
    public static string? FirstDifference(string expected, string? found, string displayPath)
    {
        if (found == null)
            return $"  {displayPath} does not exist";
        if (expected == found)
            return null;
        var e = expected.Split('\n');
        var f = found.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, f.Length); i++)
        {
            string? el = i < e.Length ? e[i] : null, fl = i < f.Length ? f[i] : null;
            if (el != fl)
            {
                return $"  first difference in {displayPath} at line {i + 1}:\n"
                    + $"    expected: {Show(el)}\n"
                    + $"    found:    {Show(fl)}";
            }
        }
        return $"  {displayPath} differs";
    }

    private static string Show(string? line) => line == null ? "(end of file)" : line.EndsWith('\r') ? line[..^1] + "\\r" : line;

    private static string? ReadOrNull(string path) => File.Exists(path) ? File.ReadAllText(path, Utf8NoBom) : null;

    private static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
