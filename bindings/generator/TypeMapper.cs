namespace Psyne.Bindgen;

/// <summary>Thrown while mapping one declaration; turned into a problem naming the declaration and its location.</summary>
internal sealed class MappingException(string message, AstNode? at = null) : Exception(message)
{
    /// <summary>The node to report the location of, when more precise than the declaration (a field, a parameter).</summary>
    public AstNode? At { get; } = at;
}

/// <summary>Maps C types to the C# types of the raw layer.</summary>
internal sealed class TypeMapper
{
    /// <summary>Typedef names mapped by name, whatever the platform defines them as (uint64_t is <c>unsigned long</c> on LP64).</summary>
    public static readonly IReadOnlyDictionary<string, string> FixedWidth = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["int8_t"] = "sbyte",
        ["uint8_t"] = "byte",
        ["int16_t"] = "short",
        ["uint16_t"] = "ushort",
        ["int32_t"] = "int",
        ["uint32_t"] = "uint",
        ["int64_t"] = "long",
        ["uint64_t"] = "ulong",
        ["size_t"] = "nuint",
        ["uintptr_t"] = "nuint",
        ["ptrdiff_t"] = "nint",
        ["intptr_t"] = "nint",
        ["ssize_t"] = "nint",
    };

    private static readonly IReadOnlyDictionary<string, string> Builtins = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["void"] = "void",
        ["char"] = "byte",
        ["signed char"] = "sbyte",
        ["unsigned char"] = "byte",
        ["short"] = "short",
        ["unsigned short"] = "ushort",
        ["int"] = "int",
        ["unsigned int"] = "uint",
        ["float"] = "float",
        ["double"] = "double",
        ["_Bool"] = "byte",
    };

    /// <summary>Typedefs whose size differs between platforms even though they resolve to a fixed-size builtin here.</summary>
    private static readonly HashSet<string> NonPortableTypedefs = ["wchar_t", "wint_t", "off_t", "time_t", "clock_t"];

    /// <summary>Element types C# allows in a <c>fixed</c> buffer.</summary>
    public static readonly HashSet<string> FixedBufferElements = ["byte", "sbyte", "short", "ushort", "int", "uint", "long", "ulong", "float", "double"];

    /// <summary>C# integer types and their width in bits and signedness (nint/nuint taken as 64-bit).</summary>
    public static readonly IReadOnlyDictionary<string, (int Bits, bool Signed)> Integers = new Dictionary<string, (int, bool)>(StringComparer.Ordinal)
    {
        ["sbyte"] = (8, true),
        ["byte"] = (8, false),
        ["short"] = (16, true),
        ["ushort"] = (16, false),
        ["int"] = (32, true),
        ["uint"] = (32, false),
        ["long"] = (64, true),
        ["ulong"] = (64, false),
        ["nint"] = (64, true),
        ["nuint"] = (64, false),
    };

    private readonly IReadOnlyDictionary<string, AstNode> _typedefs;
    private readonly Dictionary<string, CType> _typedefTypes = new(StringComparer.Ordinal);

    /// <summary>C# names of the structs and unions bound from the headers, keyed by <c>"struct name"</c> / <c>"union name"</c>.</summary>
    public Dictionary<string, string> Records { get; } = new(StringComparer.Ordinal);

    /// <summary>C# names of the enums bound from the headers, keyed by C tag name.</summary>
    public Dictionary<string, string> Enums { get; } = new(StringComparer.Ordinal);

    public TypeMapper(IReadOnlyDictionary<string, AstNode> typedefs) => _typedefs = typedefs;

    public static CType Parse(string? qualType)
    {
        if (qualType == null)
            throw new MappingException("clang gave no type");
        try
        {
            return CTypeParser.Parse(qualType);
        }
        catch (CTypeParseException ex)
        {
            throw new MappingException(ex.Message);
        }
    }

    /// <summary>The type a typedef name stands for, or null for fixed-width names and unknown names.</summary>
    public CType? TypedefTarget(string name)
    {
        if (FixedWidth.ContainsKey(name) || !_typedefs.TryGetValue(name, out var node))
            return null;
        if (!_typedefTypes.TryGetValue(name, out var type))
        {
            type = Parse(node.QualType());
            _typedefTypes[name] = type;
        }
        return type;
    }

    /// <summary>Strips typedef names (except fixed-width ones) at the top of a type.</summary>
    public CType ResolveTop(CType type)
    {
        for (int guard = 0; guard < 100 && type is CNamedType named && TypedefTarget(named.Name) is { } target; guard++)
            type = target;
        return type;
    }

    public string Map(CType type)
    {
        switch (type)
        {
            case CNamedType named:
                if (FixedWidth.TryGetValue(named.Name, out var fixedWidth))
                    return fixedWidth;
                if (NonPortableTypedefs.Contains(named.Name))
                    throw new MappingException($"'{named.Name}' has a different size on different platforms; use a fixed-width type (int32_t, uint64_t, ...)");
                if (TypedefTarget(named.Name) is { } target)
                    return Map(target);
                throw new MappingException($"unknown type name '{named.Name}'");

            case CBuiltinType builtin:
                if (Builtins.TryGetValue(builtin.Name, out var cs))
                    return cs;
                if (builtin.Name.Contains("long", StringComparison.Ordinal))
                {
                    throw new MappingException(
                        $"'{builtin.Name}' has no fixed width (64-bit on LP64 Linux/macOS, 32-bit 'long' on LLP64 Windows); "
                        + "use int32_t, int64_t, uint32_t or uint64_t");
                }
                throw new MappingException($"builtin type '{builtin.Name}' is not supported");

            case CTagType tag:
                if (tag.IsUnnamed)
                    throw new MappingException($"the unnamed {tag.TagKind} {tag.Name} is only supported as the type of a named struct field");
                if (tag.TagKind == "enum")
                {
                    return Enums.TryGetValue(tag.Name, out var enumName) ? enumName
                        : throw new MappingException($"'enum {tag.Name}' is not defined in the bound headers");
                }
                return Records.TryGetValue(tag.TagKind + " " + tag.Name, out var recordName) ? recordName
                    : throw new MappingException($"'{tag.TagKind} {tag.Name}' is not declared in the bound headers");

            case CPointerType pointer:
            {
                var pointee = ResolveTop(pointer.Pointee);
                if (pointee is CFunctionType function)
                    return FunctionPointer(function);
                if (pointee is CArrayType)
                    throw new MappingException($"pointer to array '{pointer}' is not supported");
                return Map(pointer.Pointee) + "*";
            }

            case CArrayType:
                throw new MappingException($"array type '{type}' is only supported as a struct field");

            case CFunctionType:
                throw new MappingException($"function type '{type}' is only supported through a pointer");

            default:
                throw new MappingException($"type '{type}' is not supported");
        }
    }

    /// <summary><c>void (*)(void *, int32_t, const char *)</c> → <c>delegate* unmanaged[Cdecl]&lt;void*, int, byte*, void&gt;</c>.</summary>
    public string FunctionPointer(CFunctionType function)
    {
        if (!function.HasPrototype)
            throw new MappingException($"function pointer '{function}' has no prototype; write (void) for no parameters");
        if (function.IsVariadic)
            throw new MappingException($"variadic function pointer '{function}' is not supported");
        var types = function.Parameters.Select(p => Map(p)).Append(Map(function.ReturnType));
        return "delegate* unmanaged[Cdecl]<" + string.Join(", ", types) + ">";
    }

    /// <summary>Width and signedness of an integer C type (for constant folding); null when not an integer.</summary>
    public (int Bits, bool Signed)? IntegerInfo(string? qualType)
    {
        if (qualType == null)
            return null;
        CType type;
        try
        {
            type = ResolveTop(CTypeParser.Parse(qualType));
        }
        catch (CTypeParseException)
        {
            return null;
        }
        return type switch
        {
            CNamedType n when FixedWidth.TryGetValue(n.Name, out var cs) => Integers[cs],
            CBuiltinType b => b.Name switch
            {
                "char" or "signed char" => (8, true),
                "unsigned char" => (8, false),
                "_Bool" => (1, false),
                "short" => (16, true),
                "unsigned short" => (16, false),
                "int" => (32, true),
                "unsigned int" => (32, false),
                "long" or "long long" => (64, true),
                "unsigned long" or "unsigned long long" => (64, false),
                _ => null,
            },
            CTagType { TagKind: "enum" } => (32, true),
            _ => null,
        };
    }

    /// <summary>Wraps a value to an integer width, as a C conversion does.</summary>
    public static Int128 Wrap(Int128 value, int bits, bool signed)
    {
        if (bits >= 128)
            return value;
        Int128 modulus = Int128.One << bits;
        Int128 v = value % modulus;
        if (v < 0)
            v += modulus;
        if (signed && v >= modulus >> 1)
            v -= modulus;
        return v;
    }
}
