using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Psyne.Bindgen;

/// <summary>Which files' declarations are bound: the header, the headers beside it, and those under the include dirs.</summary>
internal sealed class Scope
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private readonly string _header;
    private readonly List<string> _dirs;

    public Scope(string headerFull, IEnumerable<string> includeDirsFull)
    {
        _header = headerFull;
        _dirs = includeDirsFull.Prepend(Path.GetDirectoryName(headerFull)!)
            .Select(d => Path.TrimEndingDirectorySeparator(d) + Path.DirectorySeparatorChar)
            .Distinct()
            .ToList();
    }

    public bool Contains(string? fullPath) =>
        fullPath != null && (string.Equals(fullPath, _header, PathComparison) || _dirs.Any(d => fullPath.StartsWith(d, PathComparison)));
}

/// <summary>Walks clang's AST of the header and builds the <see cref="BindingModel"/>.</summary>
internal sealed partial class Translator
{
    private const string HotAnnotation = "psyne_hot";

    private readonly ClangAst _ast;
    private readonly Scope _scope;
    private readonly string _baseDirectory;
    private readonly SourceComments _comments = new();
    private readonly BindingModel _model = new();
    private readonly List<string> _problems = [];

    private readonly Dictionary<string, AstNode> _typedefs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AstNode> _ownerTypedef = new(StringComparer.Ordinal); // tag decl id -> typedef that declares it
    private readonly Dictionary<string, AstNode> _recordDefinitions = new(StringComparer.Ordinal); // "struct x" -> complete definition
    private readonly Dictionary<string, AstNode> _unnamedRecords = new(StringComparer.Ordinal); // "file:line:col" -> unnamed record
    private readonly Dictionary<string, Int128> _constants = new(StringComparer.Ordinal); // decl id -> value
    private readonly HashSet<string> _emittedOpaque = new(StringComparer.Ordinal);
    private readonly TypeMapper _types;

    public Translator(ClangAst ast, Scope scope, string baseDirectory)
    {
        _ast = ast;
        _scope = scope;
        _baseDirectory = baseDirectory;
        _types = new TypeMapper(_typedefs);
    }

    public BindingModel Translate()
    {
        var top = _ast.Root.Inner;
        Index(top);
        foreach (var node in top)
        {
            if (!_scope.Contains(node.BestLoc?.FullPath) || node.GetBool("isImplicit"))
                continue;
            switch (node.Kind)
            {
                case "EnumDecl":
                    Guard(node, node.Name ?? TagName(node) ?? "(anonymous enum)", () => TranslateEnum(node));
                    break;
                case "RecordDecl":
                    Guard(node, TagName(node) ?? "(anonymous struct)", () => TranslateTopRecord(node));
                    break;
                case "TypedefDecl":
                    Guard(node, node.Name ?? "", () => ValidateTypedef(node));
                    break;
                case "FunctionDecl":
                    Guard(node, node.Name ?? "", () => TranslateFunction(node));
                    break;
                case "VarDecl":
                    Guard(node, node.Name ?? "", () => TranslateVariable(node));
                    break;
                case "StaticAssertDecl":
                case "EmptyDecl":
                    break; // nothing to bind
                default:
                    Problem(node, node.Name ?? node.Kind, $"declaration kind '{node.Kind}' is not supported");
                    break;
            }
        }
        if (_problems.Count > 0)
            throw new UnsupportedConstructException(_problems);
        return _model;
    }

    // ---- indexing ------------------------------------------------------------------------------

    private void Index(List<AstNode> top)
    {
        foreach (var node in top)
        {
            if (node.Kind == "TypedefDecl" && node.Name != null)
            {
                _typedefs.TryAdd(node.Name, node);
                if (node.Inner.FirstOrDefault() is { Kind: "ElaboratedType" } elaborated
                    && elaborated.Json.TryGetProperty("ownedTagDecl", out var owned)
                    && owned.TryGetProperty("id", out var ownedId) && ownedId.GetString() is { } id)
                {
                    _ownerTypedef.TryAdd(id, node);
                }
            }
        }
        foreach (var node in top)
        {
            if (node.Kind == "RecordDecl")
                IndexRecord(node);
        }
        foreach (var node in top)
        {
            bool inScope = _scope.Contains(node.BestLoc?.FullPath);
            if (node.Kind == "EnumDecl" && inScope && TagName(node) is { } enumName)
                _types.Enums[enumName] = enumName;
        }
        foreach (var (key, def) in _recordDefinitions)
        {
            if (_scope.Contains(def.BestLoc?.FullPath))
                _types.Records[key] = key[(key.IndexOf(' ') + 1)..];
        }
        foreach (var node in top)
        {
            // Declared in the headers, defined nowhere: an opaque handle.
            if (node.Kind == "RecordDecl" && _scope.Contains(node.BestLoc?.FullPath) && TagName(node) is { } name
                && !_recordDefinitions.ContainsKey(TagKey(node, name)))
            {
                _types.Records[TagKey(node, name)] = name;
            }
        }
    }

    private void IndexRecord(AstNode record)
    {
        string? name = TagName(record);
        if (record.GetBool("completeDefinition"))
        {
            if (name != null)
                _recordDefinitions.TryAdd(TagKey(record, name), record);
            else if (record.Loc is { } loc)
                _unnamedRecords.TryAdd($"{loc.RawFile}:{loc.Line}:{loc.Column}", record);
        }
        foreach (var child in record.Inner)
        {
            if (child.Kind == "RecordDecl")
                IndexRecord(child);
        }
    }

    private string? TagName(AstNode tag) =>
        !string.IsNullOrEmpty(tag.Name) ? tag.Name : _ownerTypedef.TryGetValue(tag.Id, out var typedef) ? typedef.Name : null;

    private static string TagKey(AstNode record, string name) => (record.GetString("tagUsed") ?? "struct") + " " + name;

    // ---- enums and constants -------------------------------------------------------------------

    private void TranslateEnum(AstNode node)
    {
        string? name = TagName(node);
        var members = new List<(AstNode Node, Int128 Value)>();
        Int128 next = 0;
        foreach (var constant in node.Inner.Where(c => c.Kind == "EnumConstantDecl"))
        {
            var init = constant.Inner.FirstOrDefault(c => !c.Kind.EndsWith("Attr", StringComparison.Ordinal) && c.Kind != "FullComment");
            Int128 value = init != null ? Evaluate(init) : next;
            _constants[constant.Id] = value;
            members.Add((constant, value));
            next = value + 1;
        }

        string underlying;
        if (node.Json.TryGetProperty("fixedUnderlyingType", out _))
        {
            underlying = _types.Map(TypeMapper.Parse(node.QualType("fixedUnderlyingType")));
            if (!TypeMapper.Integers.ContainsKey(underlying) || underlying is "nint" or "nuint")
                throw new MappingException($"enum underlying type '{node.QualType("fixedUnderlyingType")}' is not supported");
        }
        else if (members.All(m => m.Value >= int.MinValue && m.Value <= int.MaxValue))
            underlying = "int";
        else if (members.All(m => m.Value >= 0 && m.Value <= uint.MaxValue))
            underlying = "uint";
        else
            throw new MappingException("enum values do not fit in int or uint");

        if (name == null)
        {
            foreach (var (constant, value) in members)
            {
                _model.Members.Add(new ConstDef
                {
                    Name = constant.Name!,
                    CsType = underlying,
                    Value = Literal(value, underlying),
                    Doc = Doc(constant, trailing: true),
                });
            }
            return;
        }

        var def = new EnumDef { Name = name, Underlying = underlying, Doc = Doc(OwnerOrSelf(node), trailing: false) };
        foreach (var (constant, value) in members)
            def.Members.Add(new EnumMemberDef(constant.Name!, value, Doc(constant, trailing: true)));
        _model.Types.Add(def);
    }

    private void TranslateVariable(AstNode node)
    {
        var type = TypeMapper.Parse(node.QualType());
        var resolved = _types.ResolveTop(type);
        bool isConst = type.IsConst || resolved.IsConst;
        var init = node.Inner.FirstOrDefault(c => !c.Kind.EndsWith("Attr", StringComparison.Ordinal) && c.Kind != "FullComment");
        if (node.GetString("storageClass") != "static" || !isConst || init == null)
        {
            throw new MappingException(
                "global variables cannot be bound; only 'static const' integer constants with an initializer are supported");
        }
        string cs = _types.Map(type);
        if (!TypeMapper.Integers.TryGetValue(cs, out var info))
            throw new MappingException($"constant of type '{node.QualType()}' is not supported (integers only)");
        Int128 value = TypeMapper.Wrap(Evaluate(init), info.Bits, info.Signed);
        if (cs is "nint" or "nuint" && (value < int.MinValue || value > uint.MaxValue || (cs == "nint" && value > int.MaxValue)))
            throw new MappingException($"constant of type '{node.QualType()}' does not fit in 32 bits, which C# requires of nint/nuint constants");
        _constants[node.Id] = value;
        _model.Members.Add(new ConstDef { Name = node.Name!, CsType = cs, Value = Literal(value, cs), Doc = Doc(node, trailing: true) });
    }

    private static string Literal(Int128 value, string csType) =>
        csType == "long" && value == long.MinValue ? "long.MinValue"
        : csType == "int" && value == int.MinValue ? "int.MinValue"
        : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Folds a constant expression: clang's own value where it gives one (<c>ConstantExpr</c>), else the tree.</summary>
    private Int128 Evaluate(AstNode e)
    {
        Int128 value = EvaluateRaw(e);
        if (_types.IntegerInfo(e.QualType()) is { } info)
            value = info.Bits == 1 ? (value != 0 ? 1 : 0) : TypeMapper.Wrap(value, info.Bits, info.Signed);
        return value;
    }

    private Int128 EvaluateRaw(AstNode e)
    {
        if (e.GetString("value") is { } literal && e.Kind is "ConstantExpr" or "IntegerLiteral" or "CharacterLiteral")
            return Int128.Parse(literal, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        switch (e.Kind)
        {
            case "ConstantExpr":
            case "ParenExpr":
            case "ImplicitCastExpr":
            case "CStyleCastExpr":
                return Evaluate(Single(e));
            case "DeclRefExpr":
                if (e.Json.TryGetProperty("referencedDecl", out var referenced) && referenced.TryGetProperty("id", out var id)
                    && _constants.TryGetValue(id.GetString() ?? "", out var known))
                {
                    return known;
                }
                throw new MappingException("a constant refers to something that is not an earlier constant");
            case "UnaryOperator":
            {
                Int128 v = Evaluate(Single(e));
                return e.GetString("opcode") switch
                {
                    "-" => -v,
                    "+" => v,
                    "~" => ~v,
                    "!" => v == 0 ? 1 : 0,
                    var op => throw new MappingException($"operator '{op}' in a constant is not supported"),
                };
            }
            case "BinaryOperator":
            {
                if (e.Inner.Count != 2)
                    throw new MappingException("malformed binary operator");
                Int128 a = Evaluate(e.Inner[0]), b = Evaluate(e.Inner[1]);
                return e.GetString("opcode") switch
                {
                    "+" => a + b,
                    "-" => a - b,
                    "*" => a * b,
                    "/" when b != 0 => a / b,
                    "%" when b != 0 => a % b,
                    "<<" => a << (int)b,
                    ">>" => a >> (int)b,
                    "&" => a & b,
                    "|" => a | b,
                    "^" => a ^ b,
                    "&&" => a != 0 && b != 0 ? 1 : 0,
                    "||" => a != 0 || b != 0 ? 1 : 0,
                    "==" => a == b ? 1 : 0,
                    "!=" => a != b ? 1 : 0,
                    "<" => a < b ? 1 : 0,
                    ">" => a > b ? 1 : 0,
                    "<=" => a <= b ? 1 : 0,
                    ">=" => a >= b ? 1 : 0,
                    var op => throw new MappingException($"operator '{op}' in a constant is not supported"),
                };
            }
            default:
                throw new MappingException($"cannot evaluate a '{e.Kind}' in a constant");
        }
    }

    private static AstNode Single(AstNode e) =>
        e.Inner.Count == 1 ? e.Inner[0] : throw new MappingException($"malformed '{e.Kind}' in a constant");

    // ---- records -------------------------------------------------------------------------------

    private void TranslateTopRecord(AstNode node)
    {
        string? name = TagName(node);
        if (name == null)
        {
            if (node.GetBool("completeDefinition"))
                throw new MappingException("an unnamed struct or union at file scope needs a tag or a typedef name");
            return;
        }
        if (node.GetBool("completeDefinition"))
        {
            TranslateRecord(node, name);
            return;
        }
        string key = TagKey(node, name);
        if (_recordDefinitions.ContainsKey(key) || !_emittedOpaque.Add(key))
            return; // a forward declaration of something defined elsewhere, or already emitted
        _model.Types.Add(new OpaqueDef { Name = name, Doc = Doc(OwnerOrSelf(node), trailing: false) });
    }

    private AstNode OwnerOrSelf(AstNode tag) => _ownerTypedef.TryGetValue(tag.Id, out var typedef) ? typedef : tag;

    private void TranslateRecord(AstNode node, string name)
    {
        bool isUnion = node.GetString("tagUsed") == "union";
        int? pack = null;
        foreach (var attr in node.Inner.Where(c => c.Kind.EndsWith("Attr", StringComparison.Ordinal)))
        {
            if (attr.Kind == "PackedAttr")
                pack = 1;
            else
                throw new MappingException($"attribute '{attr.Kind}' on a struct is not supported (only packed)");
        }

        var def = new StructDef { Name = name, IsUnion = isUnion, Pack = pack, Doc = Doc(OwnerOrSelf(node), trailing: false) };
        var helpers = new List<TypeDef>();
        foreach (var child in node.Inner)
        {
            switch (child.Kind)
            {
                case "RecordDecl" when !string.IsNullOrEmpty(child.Name) && child.GetBool("completeDefinition"):
                    TranslateRecord(child, child.Name); // a named struct defined inside another is a file-scope type in C
                    break;
                case "RecordDecl":
                    break; // unnamed: translated with the field that uses it
                case "FieldDecl":
                    try
                    {
                        def.Fields.Add(TranslateField(name, child, helpers));
                    }
                    catch (MappingException ex) when (ex.At == null)
                    {
                        throw new MappingException(ex.Message, child);
                    }
                    break;
                case "IndirectFieldDecl":
                    break; // reported through the unnamed FieldDecl
                case "FullComment":
                    break;
                default:
                    if (!child.Kind.EndsWith("Attr", StringComparison.Ordinal))
                        throw new MappingException($"'{child.Kind}' inside a struct is not supported");
                    break;
            }
        }
        _model.Types.Add(def);
        _model.Types.AddRange(helpers);
    }

    private FieldDef TranslateField(string recordName, AstNode field, List<TypeDef> helpers)
    {
        string? fieldName = field.Name;
        if (string.IsNullOrEmpty(fieldName))
            throw new MappingException("anonymous struct/union members are not supported; give the member a name");
        string where = $"field '{fieldName}'";
        if (field.GetBool("isBitfield"))
            throw new MappingException($"{where}: bit-fields are not supported (their layout is implementation-defined)");
        foreach (var attr in field.Inner.Where(c => c.Kind.EndsWith("Attr", StringComparison.Ordinal)))
            throw new MappingException($"{where}: attribute '{attr.Kind}' is not supported");

        string qualType = field.QualType() ?? "";
        string? native = HasQualifier(qualType) ? qualType : null;
        var doc = Doc(field, trailing: true);
        try
        {
            var type = TypeMapper.Parse(qualType);
            var top = _types.ResolveTop(type);

            if (top is CTagType { IsUnnamed: true } unnamed)
            {
                string helperName = $"{recordName}_{fieldName}_e__{(unnamed.TagKind == "union" ? "Union" : "Struct")}";
                int at = unnamed.Name.LastIndexOf(" at ", StringComparison.Ordinal);
                string key = at < 0 ? "" : unnamed.Name[(at + 4)..].TrimEnd(')');
                if (!_unnamedRecords.TryGetValue(key, out var nested))
                    throw new MappingException($"cannot find the definition of {unnamed.TagKind} {unnamed.Name}");
                var before = _model.Types.Count;
                TranslateRecord(nested, helperName);
                // The nested type goes after its user, with the other helpers, in field order.
                helpers.AddRange(_model.Types.GetRange(before, _model.Types.Count - before));
                _model.Types.RemoveRange(before, _model.Types.Count - before);
                return new FieldDef { Name = fieldName, CsType = helperName, NativeTypeName = native, Doc = doc };
            }

            if (top is CArrayType array)
            {
                if (array.Length is not > 0)
                    throw new MappingException("flexible or zero-length array members are not supported");
                var element = _types.ResolveTop(array.Element);
                if (element is CArrayType)
                    throw new MappingException("multi-dimensional arrays are not supported");
                if (element is CTagType { IsUnnamed: true })
                    throw new MappingException("arrays of unnamed structs are not supported");
                string elementCs = _types.Map(array.Element);
                if (TypeMapper.FixedBufferElements.Contains(elementCs))
                    return new FieldDef { Name = fieldName, CsType = elementCs, FixedLength = array.Length, NativeTypeName = native, Doc = doc };
                string helperName = $"{recordName}_{fieldName}_e__FixedBuffer";
                helpers.Add(new InlineArrayDef
                {
                    Name = helperName,
                    ElementType = elementCs,
                    Length = array.Length.Value,
                    ExplicitElements = element is CPointerType,
                });
                return new FieldDef { Name = fieldName, CsType = helperName, NativeTypeName = native, Doc = doc };
            }

            return new FieldDef { Name = fieldName, CsType = _types.Map(type), NativeTypeName = native, Doc = doc };
        }
        catch (MappingException ex)
        {
            throw new MappingException($"{where}: {ex.Message}", ex.At ?? field);
        }
    }

    // ---- typedefs ------------------------------------------------------------------------------

    private void ValidateTypedef(AstNode node)
    {
        if (node.Inner.FirstOrDefault() is { Kind: "ElaboratedType" } elaborated && elaborated.Json.TryGetProperty("ownedTagDecl", out _))
            return; // typedef struct x {...} x; : bound with the tag
        var type = _types.ResolveTop(TypeMapper.Parse(node.QualType()));
        switch (type)
        {
            case CArrayType array:
                _types.Map(array.Element);
                break;
            case CFunctionType function:
                _types.FunctionPointer(function);
                break;
            default:
                _types.Map(type);
                break;
        }
        // Nothing to emit: C# has no aliases for primitives or function pointers, so uses are expanded.
    }

    // ---- functions -----------------------------------------------------------------------------

    private void TranslateFunction(AstNode node)
    {
        string name = node.Name!;
        if (node.GetString("previousDecl") != null)
            return; // a repeated prototype: bound at its first declaration
        if (node.GetString("storageClass") == "static")
            throw new MappingException("a static function in a header has no exported symbol to import");
        if (node.GetBool("inline") || node.Inner.Any(c => c.Kind == "CompoundStmt"))
            throw new MappingException("an inline function or a function body in a header cannot be imported");
        if (TypeMapper.Parse(node.QualType()) is not CFunctionType function)
            throw new MappingException("not a function type");
        if (!function.HasPrototype)
            throw new MappingException($"declared without a prototype; write {name}(void)");
        if (function.IsVariadic)
            throw new MappingException("variadic functions are not supported");

        var parameters = new List<ParamDef>();
        int index = 0;
        foreach (var p in node.Inner.Where(c => c.Kind == "ParmVarDecl"))
        {
            string pname = string.IsNullOrEmpty(p.Name) ? $"param{index}" : p.Name;
            string qualType = p.QualType() ?? "";
            string cs;
            try
            {
                cs = _types.Map(TypeMapper.Parse(qualType));
            }
            catch (MappingException ex)
            {
                throw new MappingException($"parameter '{pname}': {ex.Message}", p);
            }
            parameters.Add(new ParamDef(pname, cs, HasQualifier(qualType) ? qualType : null));
            index++;
        }

        string returnText = function.ReturnType.ToString();
        string returnCs;
        try
        {
            returnCs = _types.Map(function.ReturnType);
        }
        catch (MappingException ex)
        {
            throw new MappingException($"return type: {ex.Message}");
        }

        bool hot = false;
        foreach (var attr in node.Inner.Where(c => c.Kind == "AnnotateAttr"))
        {
            if (Annotation(attr) == HotAnnotation)
                hot = true;
        }

        _model.Members.Add(new FunctionDef
        {
            Name = name,
            ReturnType = returnCs,
            ReturnNativeTypeName = HasQualifier(returnText) ? returnText : null,
            Parameters = parameters,
            SuppressGCTransition = hot,
            Doc = Doc(node, trailing: true),
        });
    }

    /// <summary>
    /// The string of <c>__attribute__((annotate("...")))</c>. clang 14's JSON dump does not include it,
    /// so it is read from the source at the attribute's spelling location (inside the macro that
    /// wrote it, e.g. PSYNE_HOT in psyne_platform.h).
    /// </summary>
    private string Annotation(AstNode attr)
    {
        foreach (var property in new[] { "annotation", "args" })
        {
            if (attr.Json.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String)
                return v.GetString() ?? "";
        }
        var begin = attr.BeginSpelling;
        var end = attr.EndSpelling;
        if (begin?.FullPath != null && end?.FullPath == begin.FullPath && _comments.Bytes(begin.FullPath) is { } bytes
            && end.Offset + end.TokenLength <= bytes.Length && end.Offset >= begin.Offset)
        {
            string text = Encoding.UTF8.GetString(bytes, (int)begin.Offset, (int)(end.Offset + end.TokenLength - begin.Offset));
            var match = AnnotateRegex().Match(text);
            if (match.Success)
                return Regex.Unescape(match.Groups[1].Value);
        }
        throw new MappingException("cannot read the string of an annotate attribute (write it as annotate(\"...\") in one macro)");
    }

    [GeneratedRegex("annotate\\s*\\(\\s*\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex AnnotateRegex();

    [GeneratedRegex("\\b(const|volatile)\\b")]
    private static partial Regex QualifierRegex();

    private static bool HasQualifier(string cType) => QualifierRegex().IsMatch(cType);

    // ---- helpers -------------------------------------------------------------------------------

    private List<string> Doc(AstNode node, bool trailing) => _comments.For(node.Begin, node.End, trailing);

    private void Guard(AstNode node, string name, Action action)
    {
        try
        {
            action();
        }
        catch (MappingException ex)
        {
            Problem(ex.At ?? node, name, ex.Message);
        }
    }

    private void Problem(AstNode node, string name, string message)
    {
        var loc = node.BestLoc;
        string where = loc?.FullPath != null
            ? $"{Paths.Relative(_baseDirectory, loc.FullPath)}:{loc.Line}"
            : loc?.RawFile ?? "<unknown>";
        _problems.Add($"{where}: '{name}': {message}");
    }
}

internal static class Paths
{
    /// <summary>A path relative to a folder, with forward slashes.</summary>
    public static string Relative(string fromDirectory, string fullPath) =>
        Path.GetRelativePath(fromDirectory, fullPath).Replace('\\', '/');
}
