using System.Runtime.CompilerServices;
using Psyne.Interop;

namespace Psyne.Messaging;

/// <summary>Element type of a tensor message (values as <c>psyne_dtype</c>; docs/wire-format.md, 3.2).</summary>
public enum TensorDType : byte
{
    /// <summary>Not a type; never valid in a header.</summary>
    Invalid = 0,
    /// <summary>32-bit float (<see cref="float"/>).</summary>
    F32 = 1,
    /// <summary>IEEE 754 binary16 (<see cref="Half"/>, or <see cref="ushort"/> bits).</summary>
    F16 = 2,
    /// <summary>bfloat16 (<see cref="ushort"/> bits).</summary>
    BF16 = 3,
    /// <summary>64-bit float (<see cref="double"/>).</summary>
    F64 = 4,
    /// <summary>Signed byte (<see cref="sbyte"/>).</summary>
    I8 = 5,
    /// <summary>Unsigned byte (<see cref="byte"/>).</summary>
    U8 = 6,
    /// <summary>32-bit integer (<see cref="int"/>).</summary>
    I32 = 7,
    /// <summary>64-bit integer (<see cref="long"/>).</summary>
    I64 = 8,
    /// <summary>Packed ternary weights, 2 bits each in blocks of 256 (<see cref="byte"/> view of the packed data).</summary>
    Ternary2 = 9,
}

/// <summary>What a tensor's axes mean (values as <c>psyne_tensor_layout</c>); the strides place the elements.</summary>
public enum TensorLayout : byte
{
    /// <summary>C order: the last index varies fastest.</summary>
    RowMajor = 0,
    /// <summary>Fortran order: the first index varies fastest.</summary>
    ColumnMajor = 1,
    /// <summary>Rank 4, shape [N, C, H, W], row-major strides.</summary>
    Nchw = 2,
    /// <summary>Rank 4, shape [N, H, W, C], row-major strides.</summary>
    Nhwc = 3,
    /// <summary>Any non-negative strides (a view; 0 broadcasts).</summary>
    Strided = 4,
}

/// <summary>
/// A tensor's element type does not match the .NET type it is read or written as (reading an
/// <see cref="TensorDType.F32"/> tensor as <see cref="int"/>, say), or the type is not a tensor
/// element type at all. <see cref="PsyneException.ErrorCode"/> is <see cref="PsyneErrorCode.InvalidArgument"/>.
/// </summary>
public sealed class TensorTypeMismatchException : PsyneException
{
    /// <summary>Creates the exception.</summary>
    public TensorTypeMismatchException(TensorDType dtype, Type requested, string message)
        : base(PsyneErrorCode.InvalidArgument, message)
    {
        DType = dtype;
        Requested = requested;
    }

    /// <summary>The tensor's element type (<see cref="TensorDType.Invalid"/> when <see cref="Requested"/> is no element type).</summary>
    public TensorDType DType { get; }

    /// <summary>The .NET type asked for.</summary>
    public Type Requested { get; }
}

/// <summary>The one mapping between .NET element types and <see cref="TensorDType"/>.</summary>
internal static class TensorTypes
{
    /// <summary>The dtype <typeparamref name="T"/> is written as; Invalid for a type that is no element type. The JIT folds it to a constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TensorDType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? TensorDType.F32
        : typeof(T) == typeof(double) ? TensorDType.F64
        : typeof(T) == typeof(Half) ? TensorDType.F16
        : typeof(T) == typeof(sbyte) ? TensorDType.I8
        : typeof(T) == typeof(byte) ? TensorDType.U8
        : typeof(T) == typeof(int) ? TensorDType.I32
        : typeof(T) == typeof(long) ? TensorDType.I64
        : TensorDType.Invalid;

    /// <summary>Whether <typeparamref name="T"/> is a view of elements of <paramref name="dtype"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fits<T>(TensorDType dtype) where T : unmanaged =>
        (dtype != TensorDType.Invalid && Of<T>() == dtype)
        || (typeof(T) == typeof(ushort) && dtype is TensorDType.F16 or TensorDType.BF16)
        || (typeof(T) == typeof(byte) && dtype == TensorDType.Ternary2);

    /// <summary>Throws <see cref="TensorTypeMismatchException"/> unless <typeparamref name="T"/> views <paramref name="dtype"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Check<T>(TensorDType dtype, string what) where T : unmanaged
    {
        if (!Fits<T>(dtype))
            ThrowMismatch<T>(dtype, what);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowMismatch<T>(TensorDType dtype, string what) where T : unmanaged
    {
        if (dtype == TensorDType.Invalid)
        {
            throw new TensorTypeMismatchException(dtype, typeof(T),
                $"{typeof(T).Name} is not a tensor element type: use float, double, Half, sbyte, byte, int or long (ushort for f16/bf16 bits, byte for packed ternary).");
        }
        throw new TensorTypeMismatchException(dtype, typeof(T),
            $"{what}: the tensor holds {Name(dtype)} elements, which cannot be viewed as {typeof(T).Name}; expected {Expected(dtype)}.");
    }

    public static string Name(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "f32",
        TensorDType.F16 => "f16",
        TensorDType.BF16 => "bf16",
        TensorDType.F64 => "f64",
        TensorDType.I8 => "i8",
        TensorDType.U8 => "u8",
        TensorDType.I32 => "i32",
        TensorDType.I64 => "i64",
        TensorDType.Ternary2 => "ternary2",
        _ => $"dtype {(int)dtype}",
    };

    private static string Expected(TensorDType dtype) => dtype switch
    {
        TensorDType.F32 => "float",
        TensorDType.F16 => "Half (or ushort bits)",
        TensorDType.BF16 => "ushort bits",
        TensorDType.F64 => "double",
        TensorDType.I8 => "sbyte",
        TensorDType.U8 => "byte",
        TensorDType.I32 => "int",
        TensorDType.I64 => "long",
        TensorDType.Ternary2 => "byte (the packed data)",
        _ => "a known dtype",
    };

    /// <summary>Bytes per element (<c>psyne_dtype_size</c>; 0 for ternary2 and unknown dtypes).</summary>
    public static int Size(TensorDType dtype) => (int)PsyneNative.psyne_dtype_size((int)dtype);
}
