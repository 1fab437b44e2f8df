using System.Text;

namespace Psyne.Bindgen;

/// <summary>
/// Reads the C comment that documents a declaration straight from the header text, using the byte
/// offsets clang gives: the comment block directly above the declaration (no blank line between,
/// nothing else on the comment's first line), and a comment after it on the same line
/// (<c>int x; /* ... */</c>, <c>A = 1, /* ... */</c>). Plain text, so the output stays deterministic.
/// </summary>
internal sealed class SourceComments
{
    private readonly Dictionary<string, (byte[] Bytes, string Latin1)?> _files = new(StringComparer.Ordinal);

    /// <summary>The bytes of a file, or null when it cannot be read.</summary>
    public byte[]? Bytes(string? fullPath) => Load(fullPath)?.Bytes;

    public List<string> For(SourceLoc? begin, SourceLoc? end, bool trailing)
    {
        var lines = new List<string>();
        if (begin?.FullPath is { } file && Load(file) is { } src)
        {
            lines.AddRange(Leading(src.Bytes, src.Latin1, begin.Offset));
            if (trailing && end != null && end.FullPath == file)
                lines.AddRange(Trailing(src.Bytes, src.Latin1, end.Offset + end.TokenLength));
        }
        return lines;
    }

    private (byte[] Bytes, string Latin1)? Load(string? fullPath)
    {
        if (fullPath == null)
            return null;
        if (!_files.TryGetValue(fullPath, out var entry))
        {
            try
            {
                byte[] bytes = File.ReadAllBytes(fullPath);
                entry = (bytes, Encoding.Latin1.GetString(bytes)); // one char per byte: indexes are clang's offsets
            }
            catch (IOException)
            {
                entry = null;
            }
            catch (UnauthorizedAccessException)
            {
                entry = null;
            }
            _files[fullPath] = entry;
        }
        return entry;
    }

    private static List<string> Leading(byte[] bytes, string text, long beginOffset)
    {
        int i = (int)Math.Min(beginOffset, text.Length) - 1;
        while (i >= 0 && text[i] is ' ' or '\t')
            i--;
        if (i < 0 || text[i] != '\n')
            return []; // the declaration does not start its line
        int lineEnd = i;
        if (lineEnd > 0 && text[lineEnd - 1] == '\r')
            lineEnd--;
        int lineStart = lineEnd == 0 ? 0 : text.LastIndexOf('\n', lineEnd - 1) + 1;
        string previous = text[lineStart..lineEnd].TrimEnd();
        if (previous.Trim().Length == 0)
            return [];

        if (previous.EndsWith("*/", StringComparison.Ordinal))
        {
            int close = lineStart + previous.Length - 2;
            int open = text.LastIndexOf("/*", close, StringComparison.Ordinal);
            if (open < 0)
                return [];
            int openLineStart = open == 0 ? 0 : text.LastIndexOf('\n', open - 1) + 1;
            if (text[openLineStart..open].Trim().Length != 0)
                return []; // the trailing comment of something else
            return CleanBlock(Encoding.UTF8.GetString(bytes, open, close + 2 - open));
        }

        if (previous.TrimStart().StartsWith("//", StringComparison.Ordinal))
        {
            int first = lineStart;
            while (first > 0)
            {
                int prevEnd = first - 1;
                int prevStart = prevEnd == 0 ? 0 : text.LastIndexOf('\n', prevEnd - 1) + 1;
                if (!text[prevStart..prevEnd].TrimStart().StartsWith("//", StringComparison.Ordinal))
                    break;
                first = prevStart;
            }
            return CleanLines(Encoding.UTF8.GetString(bytes, first, lineEnd - first));
        }
        return [];
    }

    private static List<string> Trailing(byte[] bytes, string text, long afterOffset)
    {
        int p = (int)Math.Min(afterOffset, text.Length);
        while (p < text.Length && text[p] is ' ' or '\t')
            p++;
        if (p < text.Length && text[p] is ',' or ';')
            p++;
        while (p < text.Length && text[p] is ' ' or '\t')
            p++;
        if (text.AsSpan(p).StartsWith("/*"))
        {
            int close = text.IndexOf("*/", p + 2, StringComparison.Ordinal);
            return close < 0 ? [] : CleanBlock(Encoding.UTF8.GetString(bytes, p, close + 2 - p));
        }
        if (text.AsSpan(p).StartsWith("//"))
        {
            int eol = text.IndexOf('\n', p);
            return CleanLines(Encoding.UTF8.GetString(bytes, p, (eol < 0 ? text.Length : eol) - p));
        }
        return [];
    }

    private static List<string> CleanBlock(string comment)
    {
        string body = comment[2..^2];
        if (body.StartsWith("*<") || body.StartsWith("!<"))
            body = body[2..];
        else if (body.StartsWith('*') || body.StartsWith('!'))
            body = body[1..];
        var lines = new List<string>();
        foreach (var raw in body.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith('*'))
                line = line[1..].Trim();
            lines.Add(line);
        }
        return TrimBlank(lines);
    }

    private static List<string> CleanLines(string comment)
    {
        var lines = new List<string>();
        foreach (var raw in comment.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("//", StringComparison.Ordinal))
                line = line[2..];
            if (line.StartsWith('/') || line.StartsWith('!'))
                line = line[1..];
            if (line.StartsWith('<'))
                line = line[1..];
            lines.Add(line.Trim());
        }
        return TrimBlank(lines);
    }

    private static List<string> TrimBlank(List<string> lines)
    {
        int start = 0, end = lines.Count;
        while (start < end && lines[start].Length == 0)
            start++;
        while (end > start && lines[end - 1].Length == 0)
            end--;
        return lines.GetRange(start, end - start);
    }
}
