using System.Globalization;
using System.Text;

namespace Psyne.Bindgen;

/// <summary>A C type, parsed from the type spelling clang prints (<c>qualType</c>).</summary>
internal abstract class CType
{
    public bool IsConst { get; set; }
    public bool IsVolatile { get; set; }

    public override string ToString() => CTypePrinter.Print(this);
}

/// <summary>A builtin type, canonical spelling: <c>unsigned int</c>, <c>signed char</c>, <c>_Bool</c>...</summary>
internal sealed class CBuiltinType(string name) : CType
{
    public string Name { get; } = name;
}

/// <summary>A typedef name (<c>uint32_t</c>, <c>psyne_status</c>).</summary>
internal sealed class CNamedType(string name) : CType
{
    public string Name { get; } = name;
}

/// <summary><c>struct X</c>, <c>union X</c>, <c>enum X</c>; an unnamed one has a name like <c>(unnamed union at f.h:3:5)</c>.</summary>
internal sealed class CTagType(string tagKind, string name) : CType
{
    public string TagKind { get; } = tagKind;
    public string Name { get; } = name;
    public bool IsUnnamed => Name.StartsWith('(');
}

internal sealed class CPointerType(CType pointee) : CType
{
    public CType Pointee { get; } = pointee;
}

internal sealed class CArrayType(CType element, long? length) : CType
{
    public CType Element { get; } = element;
    public long? Length { get; } = length;
}

internal sealed class CFunctionType(CType returnType, IReadOnlyList<CType> parameters, bool isVariadic, bool hasPrototype) : CType
{
    public CType ReturnType { get; } = returnType;
    public IReadOnlyList<CType> Parameters { get; } = parameters;
    public bool IsVariadic { get; } = isVariadic;
    public bool HasPrototype { get; } = hasPrototype;
}

/// <summary>Thrown when a type spelling cannot be parsed (attributes, blocks, ...).</summary>
internal sealed class CTypeParseException(string message) : Exception(message);

/// <summary>
/// Parses C type names (abstract declarators) in the form clang prints them:
/// <c>const char *</c>, <c>char [16]</c>, <c>void (*)(void *, int32_t, const char *)</c>,
/// <c>int (*[2])(int)</c>, <c>union (unnamed union at f.h:3:5)</c>.
/// </summary>
internal sealed class CTypeParser
{
    private static readonly HashSet<string> BuiltinWords =
        ["void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool", "bool"];

    private static readonly HashSet<string> Unsupported =
        ["_Atomic", "_Complex", "_Imaginary", "__int128", "__int128_t", "__uint128_t", "_Float16", "__fp16", "__bf16", "_BitInt", "__attribute__", "__declspec", "typeof", "__typeof__"];

    private readonly List<string> _tokens;
    private readonly string _text;
    private int _pos;

    private CTypeParser(string text)
    {
        _text = text;
        _tokens = Tokenize(text);
    }

    public static CType Parse(string text)
    {
        var parser = new CTypeParser(text);
        var type = parser.ParseTypeName();
        if (parser._pos != parser._tokens.Count)
            throw parser.Error($"unexpected '{parser._tokens[parser._pos]}'");
        return type;
    }

    private CTypeParseException Error(string what) => new($"cannot parse the C type '{_text}': {what}");

    private string? Peek(int ahead = 0) => _pos + ahead < _tokens.Count ? _tokens[_pos + ahead] : null;

    private string Next() => _pos < _tokens.Count ? _tokens[_pos++] : throw Error("unexpected end");

    private void Expect(string token)
    {
        if (Peek() != token)
            throw Error($"expected '{token}' but found '{Peek() ?? "end"}'");
        _pos++;
    }

    private CType ParseTypeName() => ParseDeclarator(ParseSpecifiers());

    private CType ParseSpecifiers()
    {
        CType? baseType = null;
        var words = new List<string>();
        bool isConst = false, isVolatile = false;
        while (Peek() is { } tok)
        {
            if (tok == "const")
                isConst = true;
            else if (tok == "volatile")
                isVolatile = true;
            else if (tok is "restrict" or "__restrict" or "__restrict__")
            {
                // no meaning for the ABI
            }
            else if (Unsupported.Contains(tok))
                throw Error($"'{tok}' is not supported");
            else if (BuiltinWords.Contains(tok))
                words.Add(tok);
            else if (tok is "struct" or "union" or "enum")
            {
                _pos++;
                baseType = new CTagType(tok, Next());
                continue;
            }
            else if (IsIdentifier(tok) && baseType == null && words.Count == 0)
                baseType = new CNamedType(tok);
            else
                break;
            _pos++;
        }

        if (words.Count > 0)
        {
            if (baseType != null)
                throw Error("a typedef or tag name combined with builtin type words");
            baseType = new CBuiltinType(Canonical(words));
        }
        if (baseType == null)
            throw Error("no type specifier");
        baseType.IsConst = isConst;
        baseType.IsVolatile = isVolatile;
        return baseType;
    }

    private string Canonical(List<string> words)
    {
        bool unsigned = words.Contains("unsigned"), signed = words.Contains("signed");
        int longs = words.Count(w => w == "long");
        if (words.Contains("void"))
            return "void";
        if (words.Contains("_Bool") || words.Contains("bool"))
            return "_Bool";
        if (words.Contains("float"))
            return "float";
        if (words.Contains("double"))
            return longs > 0 ? "long double" : "double";
        if (words.Contains("char"))
            return unsigned ? "unsigned char" : signed ? "signed char" : "char";
        if (words.Contains("short"))
            return unsigned ? "unsigned short" : "short";
        string core = longs switch
        {
            0 => "int",
            1 => "long",
            2 => "long long",
            _ => throw Error("too many 'long'"),
        };
        return unsigned ? "unsigned " + core : core;
    }

    private CType ParseDeclarator(CType type)
    {
        while (Peek() == "*")
        {
            _pos++;
            var pointer = new CPointerType(type);
            while (Peek() is "const" or "volatile" or "restrict" or "__restrict" or "__restrict__")
            {
                string q = Next();
                if (q == "const")
                    pointer.IsConst = true;
                else if (q == "volatile")
                    pointer.IsVolatile = true;
            }
            type = pointer;
        }

        if (Peek() == "(" && Peek(1) == "*")
        {
            // A grouping: "(*...)" applies after the suffixes that follow it.
            int open = _pos, close = MatchingParen(_pos);
            _pos = close + 1;
            type = ParseSuffixes(type);
            int after = _pos;
            _pos = open + 1;
            type = ParseDeclarator(type);
            if (_pos != close)
                throw Error($"unexpected '{Peek()}'");
            _pos = after;
            return type;
        }
        return ParseSuffixes(type);
    }

    private CType ParseSuffixes(CType type)
    {
        var suffixes = new List<Func<CType, CType>>();
        while (true)
        {
            if (Peek() == "[")
            {
                _pos++;
                long? length = null;
                if (Peek() != "]")
                {
                    string n = Next();
                    if (!long.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed))
                        throw Error($"array length '{n}'");
                    length = parsed;
                }
                Expect("]");
                suffixes.Add(t => new CArrayType(t, length));
            }
            else if (Peek() == "(")
            {
                _pos++;
                var parameters = new List<CType>();
                bool variadic = false, prototype = true;
                if (Peek() == ")")
                {
                    _pos++;
                    prototype = false;
                }
                else if (Peek() == "void" && Peek(1) == ")")
                {
                    _pos += 2;
                }
                else
                {
                    while (true)
                    {
                        if (Peek() == "...")
                        {
                            _pos++;
                            variadic = true;
                        }
                        else
                            parameters.Add(ParseTypeName());
                        if (Peek() == ",")
                        {
                            _pos++;
                            continue;
                        }
                        Expect(")");
                        break;
                    }
                }
                suffixes.Add(t => new CFunctionType(t, parameters, variadic, prototype));
            }
            else
                break;
        }
        for (int i = suffixes.Count - 1; i >= 0; i--)
            type = suffixes[i](type);
        return type;
    }

    private int MatchingParen(int open)
    {
        int depth = 0;
        for (int i = open; i < _tokens.Count; i++)
        {
            if (_tokens[i] == "(")
                depth++;
            else if (_tokens[i] == ")" && --depth == 0)
                return i;
        }
        throw Error("unbalanced parentheses");
    }

    private static bool IsIdentifier(string t) => t.Length > 0 && (char.IsAsciiLetter(t[0]) || t[0] == '_');

    private static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c == '_')
            {
                int start = i;
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] == '_'))
                    i++;
                tokens.Add(s[start..i]);
            }
            else if (c == '(' && tokens.Count > 0 && tokens[^1] is "struct" or "union" or "enum")
            {
                // "(unnamed union at file.h:3:5)" / "(anonymous struct at ...)": one token.
                int depth = 0, start = i;
                for (; i < s.Length; i++)
                {
                    if (s[i] == '(')
                        depth++;
                    else if (s[i] == ')' && --depth == 0)
                        break;
                }
                i++;
                tokens.Add(s[start..Math.Min(i, s.Length)]);
            }
            else if (s.AsSpan(i).StartsWith("..."))
            {
                tokens.Add("...");
                i += 3;
            }
            else if ("*()[],".Contains(c))
            {
                tokens.Add(c.ToString());
                i++;
            }
            else
            {
                throw new CTypeParseException($"cannot parse the C type '{s}': unexpected character '{c}'");
            }
        }
        return tokens;
    }
}

/// <summary>Prints a <see cref="CType"/> the way clang does (<c>const char *</c>, <c>void (*)(int)</c>).</summary>
internal static class CTypePrinter
{
    public static string Print(CType type) => Print(type, "");

    private static string Print(CType type, string declarator)
    {
        switch (type)
        {
            case CPointerType p:
            {
                var inner = new StringBuilder("*");
                if (p.IsConst)
                    inner.Append("const");
                if (p.IsVolatile)
                    inner.Append(p.IsConst ? " volatile" : "volatile");
                if ((p.IsConst || p.IsVolatile) && declarator.Length > 0)
                    inner.Append(' ');
                inner.Append(declarator);
                string d = inner.ToString();
                if (p.Pointee is CArrayType or CFunctionType)
                    d = "(" + d + ")";
                return Print(p.Pointee, d);
            }
            case CArrayType a:
                return Print(a.Element, declarator + "[" + (a.Length?.ToString(CultureInfo.InvariantCulture) ?? "") + "]");
            case CFunctionType f:
            {
                string parameters = !f.HasPrototype ? "" : f.Parameters.Count == 0 && !f.IsVariadic ? "void"
                    : string.Join(", ", f.Parameters.Select(Print).Concat(f.IsVariadic ? ["..."] : Array.Empty<string>()));
                return Print(f.ReturnType, declarator + "(" + parameters + ")");
            }
            default:
            {
                string name = type switch
                {
                    CBuiltinType b => b.Name,
                    CNamedType n => n.Name,
                    CTagType t => t.TagKind + " " + t.Name,
                    _ => throw new InvalidOperationException(type.GetType().Name),
                };
                string quals = (type.IsConst ? "const " : "") + (type.IsVolatile ? "volatile " : "");
                return quals + name + (declarator.Length > 0 ? " " + declarator : "");
            }
        }
    }
}
