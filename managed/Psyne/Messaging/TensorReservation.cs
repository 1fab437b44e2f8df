using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Interop;

namespace Psyne.Messaging;

/// <summary>
/// A dense tensor being written in place: the 256-byte header is already filled, the data is
/// 64-byte aligned in the ring. Fill <see cref="Data"/> (or <see cref="AsTensorSpan"/>), then
/// <see cref="Commit"/> or <see cref="Abort"/> exactly once. Nothing is copied.
/// </summary>
/// <typeparam name="T">The element type, matching the tensor's <see cref="TensorDType"/>.</typeparam>
public readonly unsafe ref struct TensorReservation<T> where T : unmanaged
{
    private readonly ChannelReservation _record;
    private readonly psyne_tensor_header* _header;

    internal TensorReservation(ChannelReservation record)
    {
        _record = record;
        _header = (psyne_tensor_header*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(record.Span));
    }

    /// <summary>The element type.</summary>
    public TensorDType DType => (TensorDType)_header->dtype;

    /// <summary>The dimensions.</summary>
    public ReadOnlySpan<long> Shape => new((long*)_header->shape, _header->rank);

    /// <summary>The strides, in elements.</summary>
    public ReadOnlySpan<long> Strides => new(_header->strides, _header->rank);

    /// <summary>True when the ring was full under <see cref="FullPolicy.Drop"/>: the memory is scratch and committing sends nothing.</summary>
    public bool IsDropped => _record.IsDropped;

    /// <summary>The data, in the ring: every element the shape addresses, in stride order. No copy.</summary>
    public Span<T> Data => new((byte*)_header + _header->data_offset, checked((int)(_header->data_bytes / (ulong)sizeof(T))));

    /// <summary>The data as raw bytes.</summary>
    public Span<byte> DataBytes => new((byte*)_header + _header->data_offset, checked((int)_header->data_bytes));

    /// <summary>
    /// The data as a <see cref="TensorSpan{T}"/> with the header's shape and strides. No copy;
    /// allocates only for ranks above what <see cref="TensorSpan{T}"/> keeps inline.
    /// </summary>
    /// <exception cref="TensorTypeMismatchException">Packed ternary data, which has no element type.</exception>
    public TensorSpan<T> AsTensorSpan() => TensorViews.Writable<T>(_header);

    /// <summary>Marks the values quantised: <c>real = scale * (stored - zeroPoint)</c>. Checked by the reader (scale finite and non-zero).</summary>
    public void SetQuantization(double scale, long zeroPoint)
    {
        _header->flags |= (byte)psyne_tensor_flags.PSYNE_TENSOR_QUANTIZED;
        _header->scale = scale;
        _header->zero_point = zeroPoint;
    }

    /// <summary>Publishes the tensor as a record of <paramref name="type"/>. Never blocks, allocates nothing.</summary>
    public void Commit(ushort type = 0) => _record.Commit(type);

    /// <summary>Gives the space back unpublished.</summary>
    public void Abort() => _record.Abort();
}

/// <summary>
/// A CSR sparse matrix being written in place: fill <see cref="IndPtr"/> (rows + 1 offsets),
/// <see cref="Indices"/> (column of each entry) and <see cref="Values"/>, then commit. Nothing is copied.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
/// <typeparam name="TIndex"><see cref="int"/> or <see cref="long"/> indices.</typeparam>
public readonly unsafe ref struct SparseTensorReservation<T, TIndex> where T : unmanaged where TIndex : unmanaged
{
    private readonly ChannelReservation _record;
    private readonly psyne_tensor_header* _header;

    internal SparseTensorReservation(ChannelReservation record)
    {
        _record = record;
        _header = (psyne_tensor_header*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(record.Span));
    }

    /// <summary>Rows of the matrix.</summary>
    public long Rows => (long)_header->shape[0];

    /// <summary>Columns of the matrix.</summary>
    public long Columns => (long)_header->shape[1];

    /// <summary>Stored entries.</summary>
    public long NonZeros => (long)_header->nnz;

    /// <summary>True when the ring was full under <see cref="FullPolicy.Drop"/>: committing sends nothing.</summary>
    public bool IsDropped => _record.IsDropped;

    /// <summary>Row offsets: entry i of row r is at <c>IndPtr[r] + i</c>; <c>IndPtr[Rows] == NonZeros</c>.</summary>
    public Span<TIndex> IndPtr => new((byte*)_header + _header->indptr_offset, checked((int)(Rows + 1)));

    /// <summary>The column of each entry.</summary>
    public Span<TIndex> Indices => new((byte*)_header + _header->indices_offset, checked((int)NonZeros));

    /// <summary>The value of each entry.</summary>
    public Span<T> Values => new((byte*)_header + _header->values_offset, checked((int)NonZeros));

    /// <summary>Publishes the matrix as a record of <paramref name="type"/>. Never blocks, allocates nothing.</summary>
    public void Commit(ushort type = 0) => _record.Commit(type);

    /// <summary>Gives the space back unpublished.</summary>
    public void Abort() => _record.Abort();
}
