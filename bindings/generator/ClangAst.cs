using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Psyne.Bindgen;

/// <summary>A source location as clang reports it, with the file resolved to a full path.</summary>
/// <param name="RawFile">The file name exactly as clang printed it.</param>
/// <param name="FullPath">The file as a full path (null for <c>&lt;built-in&gt;</c> and similar).</param>
internal sealed record SourceLoc(string RawFile, string? FullPath, int Line, int Column, long Offset, int TokenLength);

/// <summary>One node of clang's JSON AST, with its locations resolved.</summary>
internal sealed class AstNode
{
    public required string Kind { get; init; }
    public string Id { get; init; } = "";
    public string? Name { get; init; }
    public required JsonElement Json { get; init; }

    /// <summary>Expansion location of <c>loc</c> (where a macro was used, for macro-expanded names).</summary>
    public SourceLoc? Loc { get; set; }

    /// <summary>Expansion locations of <c>range.begin</c> and <c>range.end</c>.</summary>
    public SourceLoc? Begin { get; set; }
    public SourceLoc? End { get; set; }

    /// <summary>Spelling locations of <c>range.begin</c> and <c>range.end</c> (where the tokens were written).</summary>
    public SourceLoc? BeginSpelling { get; set; }
    public SourceLoc? EndSpelling { get; set; }

    public List<AstNode> Inner { get; } = [];

    public SourceLoc? BestLoc => Loc ?? Begin;

    public string? GetString(string property) =>
        Json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public bool GetBool(string property) =>
        Json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.True;

    /// <summary><c>type.qualType</c> (or of another type-valued property).</summary>
    public string? QualType(string property = "type") =>
        Json.TryGetProperty(property, out var t) && t.ValueKind == JsonValueKind.Object
        && t.TryGetProperty("qualType", out var q) ? q.GetString() : null;
}

/// <summary>The parsed dump plus every file clang mentioned.</summary>
internal sealed class ClangAst
{
    public required AstNode Root { get; init; }

    /// <summary>Full paths of every file that appears in any location of the dump (spelling, expansion, includedFrom).</summary>
    public required IReadOnlySet<string> FilesSeen { get; init; }

    /// <summary>
    /// Parses clang's JSON AST. clang omits <c>file</c> (and <c>line</c>) from a location when it equals
    /// the previous location written, so the walk follows the document in order and carries the last
    /// file and line forward, exactly as clang's JSONNodeDumper elides them.
    /// </summary>
    public static ClangAst Parse(string json, string clangWorkingDirectory)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 10_000 });
        var walker = new Walker(clangWorkingDirectory);
        var root = walker.ReadNode(doc.RootElement.Clone());
        return new ClangAst { Root = root, FilesSeen = walker.FilesSeen };
    }

    private sealed class Walker(string workingDirectory)
    {
        private string _lastFile = "";
        private int _lastLine;
        private readonly Dictionary<string, string?> _fullPaths = new(StringComparer.Ordinal);

        public HashSet<string> FilesSeen { get; } = new(StringComparer.Ordinal);

        public AstNode ReadNode(JsonElement e)
        {
            var node = new AstNode
            {
                Kind = e.TryGetProperty("kind", out var k) ? k.GetString() ?? "" : "",
                Id = e.TryGetProperty("id", out var id) ? id.GetString() ?? "" : "",
                Name = e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null,
                Json = e,
            };
            foreach (var p in e.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "loc" when p.Value.ValueKind == JsonValueKind.Object:
                        (node.Loc, _) = ReadLoc(p.Value);
                        break;
                    case "range" when p.Value.ValueKind == JsonValueKind.Object:
                        foreach (var r in p.Value.EnumerateObject())
                        {
                            if (r.Value.ValueKind != JsonValueKind.Object)
                                continue;
                            var (expansion, spelling) = ReadLoc(r.Value);
                            if (r.Name == "begin")
                                (node.Begin, node.BeginSpelling) = (expansion, spelling);
                            else if (r.Name == "end")
                                (node.End, node.EndSpelling) = (expansion, spelling);
                        }
                        break;
                    case "inner" when p.Value.ValueKind == JsonValueKind.Array:
                        foreach (var child in p.Value.EnumerateArray())
                        {
                            if (child.ValueKind == JsonValueKind.Object)
                                node.Inner.Add(ReadNode(child));
                        }
                        break;
                    default:
                        Scan(p.Value);
                        break;
                }
            }
            return node;
        }

        // Any other property that holds a location must still move the "last file/line" state.
        private void Scan(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                if (e.TryGetProperty("offset", out _))
                {
                    ReadBare(e);
                    return;
                }
                foreach (var p in e.EnumerateObject())
                    Scan(p.Value);
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                    Scan(item);
            }
        }

        private (SourceLoc? Expansion, SourceLoc? Spelling) ReadLoc(JsonElement e)
        {
            if (e.TryGetProperty("spellingLoc", out _) || e.TryGetProperty("expansionLoc", out _))
            {
                SourceLoc? spelling = null, expansion = null;
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == "spellingLoc")
                        spelling = ReadBare(p.Value);
                    else if (p.Name == "expansionLoc")
                        expansion = ReadBare(p.Value);
                }
                return (expansion, spelling);
            }
            var bare = ReadBare(e);
            return (bare, bare);
        }

        private SourceLoc? ReadBare(JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("offset", out var offset))
                return null;
            if (e.TryGetProperty("file", out var f) && f.GetString() is { } file)
                _lastFile = file;
            if (e.TryGetProperty("line", out var l))
                _lastLine = l.GetInt32();
            int col = e.TryGetProperty("col", out var c) ? c.GetInt32() : 0;
            int tokLen = e.TryGetProperty("tokLen", out var t) ? t.GetInt32() : 0;
            if (e.TryGetProperty("includedFrom", out var inc) && inc.ValueKind == JsonValueKind.Object
                && inc.TryGetProperty("file", out var incFile) && incFile.GetString() is { } includer)
            {
                Note(includer);
            }
            return new SourceLoc(_lastFile, Note(_lastFile), _lastLine, col, offset.GetInt64(), tokLen);
        }

        private string? Note(string rawFile)
        {
            if (!_fullPaths.TryGetValue(rawFile, out var full))
            {
                full = rawFile.Length == 0 || rawFile.StartsWith('<') ? null : Path.GetFullPath(rawFile, workingDirectory);
                _fullPaths[rawFile] = full;
                if (full != null)
                    FilesSeen.Add(full);
            }
            return full;
        }
    }
}

/// <summary>Runs clang to get the JSON AST of a header.</summary>
internal static class ClangRunner
{
    public sealed record Output(string Json, IReadOnlyList<string> IncludedFiles);

    /// <summary>
    /// <c>clang -Xclang -ast-dump=json -fsyntax-only -x c -std=c11 -H -I&lt;dirs&gt; &lt;header&gt;</c>, run in
    /// <paramref name="workingDirectory"/> with paths relative to it so that clang's file names are relative.
    /// <c>-H</c> lists every included file on stderr; the stamp uses it.
    /// </summary>
    public static Output Run(string clang, string workingDirectory, string headerFull, IReadOnlyList<string> includeDirsFull)
    {
        var args = new List<string> { "-Xclang", "-ast-dump=json", "-fsyntax-only", "-x", "c", "-std=c11", "-H" };
        foreach (var dir in includeDirsFull)
            args.Add("-I" + ArgPath(workingDirectory, dir));
        args.Add(ArgPath(workingDirectory, headerFull));

        string command = string.Join(" ", new[] { clang }.Concat(args).Select(Quote));
        var psi = new ProcessStartInfo(clang)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("Process.Start returned null");
        }
        catch (Win32Exception ex)
        {
            throw new ClangException(
                $"could not run clang ({ex.Message}). Command: {command}\n"
                + "Install clang (./build.sh installs it) or pass its path with --clang.",
                command, "", clangNotFound: true);
        }

        using (process)
        {
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderrTask = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            string stdout = stdoutTask.GetAwaiter().GetResult();
            string stderr = stderrTask.GetAwaiter().GetResult();

            var included = new List<string>();
            var diagnostics = new StringBuilder();
            foreach (var rawLine in stderr.Split('\n'))
            {
                string line = rawLine.TrimEnd('\r');
                int dots = 0;
                while (dots < line.Length && line[dots] == '.')
                    dots++;
                if (dots > 0 && dots < line.Length && line[dots] == ' ')
                    included.Add(Path.GetFullPath(line[(dots + 1)..], workingDirectory));
                else if (line.Length > 0 && !line.StartsWith("Multiple include guards may be useful for:", StringComparison.Ordinal))
                    diagnostics.Append(line).Append('\n');
            }

            if (process.ExitCode != 0 || stdout.Length == 0)
            {
                throw new ClangException(
                    $"clang failed (exit code {process.ExitCode}). Command: {command}\n{diagnostics.ToString().TrimEnd()}",
                    command, diagnostics.ToString(), clangNotFound: false);
            }
            return new Output(stdout, included);
        }
    }

    private static string ArgPath(string workingDirectory, string full)
    {
        string rel = Path.GetRelativePath(workingDirectory, full);
        return Path.IsPathRooted(rel) ? full : rel.Replace('\\', '/');
    }

    private static string Quote(string s) =>
        s.Length > 0 && s.All(c => char.IsLetterOrDigit(c) || "-_./=:+<>".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
