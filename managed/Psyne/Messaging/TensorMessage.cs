using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// A tensor record taken from a channel, its header checked by libpsyne
/// (<c>psyne_tensor_validate</c>: magic, version, dtype, shape, strides, offsets and lengths
/// against the record's bounds). A view of the ring: no copy was made; valid until
/// <see cref="Release"/> (or <see cref="Dispose"/>). Release it exactly once.
/// </summary>
public readonly unsafe struct TensorMessage : IDisposable
{
    private readonly ChannelMessage _message;
    private readonly psyne_tensor_header* _header;

    private TensorMessage(ChannelMessage message, psyne_tensor_header* header)
    {
        _message = message;
        _header = header;
    }

    /// <summary>
    /// Checks that <paramref name="message"/> holds a tensor and views it as one. Does not release the
    /// message on failure. Reads only the 256-byte header; allocates nothing.
    /// </summary>
    /// <exception cref="PsyneFormatException">Not a valid tensor record: the message says what was expected and found.</exception>
    public static TensorMessage From(ChannelMessage message)
    {
        psyne_tensor_header* header;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_tensor_validate(message.DataPointer, (nuint)message.Length, &header));
        return new TensorMessage(message, header);
    }

    /// <summary>As <see cref="From"/>, but releases the message before throwing.</summary>
    internal static TensorMessage FromOrRelease(ChannelMessage message)
    {
        psyne_tensor_header* header;
        psyne_status s = PsyneNative.psyne_tensor_validate(message.DataPointer, (nuint)message.Length, &header);
        if (s == psyne_status.PSYNE_OK)
            return new TensorMessage(message, header);
        // Take the message before the release, a libpsyne call, replaces it.
        PsyneException error = NativeStatus.Create(s, NativeStatus.LastErrorMessage());
        message.Release();
        throw error;
    }

    /// <summary>The underlying record.</summary>
    public ChannelMessage Message => _message;

    private psyne_tensor_header* Header
    {
        get
        {
            if (_header is null)
                throw new InvalidOperationException("This tensor message is empty (default).");
            _message.Channel.ThrowIfDisposed();
            return _header;
        }
    }

    /// <summary>The element type (of the values, for CSR).</summary>
    public TensorDType DType => (TensorDType)Header->dtype;

    /// <summary>The number of dimensions (0 for a scalar).</summary>
    public int Rank => Header->rank;

    /// <summary>What the axes mean.</summary>
    public TensorLayout Layout => (TensorLayout)Header->layout;

    /// <summary>The dimensions, read in place.</summary>
    public ReadOnlySpan<long> Shape => new((long*)Header->shape, Header->rank);

    /// <summary>The strides in elements, read in place (0 for packed ternary and CSR).</summary>
    public ReadOnlySpan<long> Strides => new(Header->strides, Header->rank);

    /// <summary>The product of the dimensions.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape)
                n *= d;
            return n;
        }
    }

    /// <summary>True when the values are quantised: <c>real = Scale * (stored - ZeroPoint)</c>.</summary>
    public bool IsQuantized => (Header->flags & (byte)psyne_tensor_flags.PSYNE_TENSOR_QUANTIZED) != 0;

    /// <summary>The quantisation scale (0 when not quantised).</summary>
    public double Scale => Header->scale;

    /// <summary>The stored value of real 0 (0 when not quantised).</summary>
    public long ZeroPoint => Header->zero_point;

    /// <summary>True for a CSR sparse matrix: read it with <see cref="AsCsr{T, TIndex}"/>.</summary>
    public bool IsSparse => (Header->flags & (byte)psyne_tensor_flags.PSYNE_TENSOR_CSR) != 0;

    /// <summary>The data as raw bytes, in the ring. No copy.</summary>
    public ReadOnlySpan<byte> DataBytes => new((byte*)Header + _header->data_offset, checked((int)_header->data_bytes));

    /// <summary>The elements, in the ring, in stride order. No copy.</summary>
    /// <exception cref="TensorTypeMismatchException"><typeparamref name="T"/> does not match <see cref="DType"/>.</exception>
    /// <exception cref="InvalidOperationException">A CSR matrix (use <see cref="AsCsr{T, TIndex}"/>).</exception>
    public ReadOnlySpan<T> GetData<T>() where T : unmanaged => GetWritableData<T>();

    /// <summary>
    /// The elements as writable memory: until the release the record belongs to this consumer,
    /// which may transform it in place. No copy.
    /// </summary>
    /// <inheritdoc cref="GetData{T}" path="/exception"/>
    public Span<T> GetWritableData<T>() where T : unmanaged
    {
        psyne_tensor_header* h = Header;
        TensorTypes.Check<T>((TensorDType)h->dtype, "GetData");
        if ((h->flags & (byte)psyne_tensor_flags.PSYNE_TENSOR_CSR) != 0)
            throw new InvalidOperationException("This tensor is a CSR matrix: read it with AsCsr<T, TIndex>().");
        return new Span<T>((byte*)h + h->data_offset, checked((int)(h->data_bytes / (ulong)sizeof(T))));
    }

    /// <summary>The tensor as a <see cref="ReadOnlyTensorSpan{T}"/> with its shape and strides. No copy.</summary>
    /// <exception cref="TensorTypeMismatchException"><typeparamref name="T"/> does not match <see cref="DType"/>, or packed ternary data.</exception>
    /// <exception cref="InvalidOperationException">A CSR matrix.</exception>
    public ReadOnlyTensorSpan<T> AsReadOnlyTensorSpan<T>() where T : unmanaged => AsTensorSpan<T>();

    /// <summary>The tensor as a writable <see cref="TensorSpan{T}"/> (the consumer owns the record until it releases it). No copy.</summary>
    /// <inheritdoc cref="AsReadOnlyTensorSpan{T}" path="/exception"/>
    public TensorSpan<T> AsTensorSpan<T>() where T : unmanaged
    {
        psyne_tensor_header* h = Header;
        TensorTypes.Check<T>((TensorDType)h->dtype, "AsTensorSpan");
        if ((h->flags & (byte)psyne_tensor_flags.PSYNE_TENSOR_CSR) != 0)
            throw new InvalidOperationException("This tensor is a CSR matrix: read it with AsCsr<T, TIndex>().");
        return TensorViews.Writable<T>(h);
    }

    /// <summary>
    /// The CSR matrix's arrays, in the ring. With <paramref name="validate"/> (the default) the
    /// contents are checked too, in O(rows + nnz): indptr starts at 0, never decreases and ends at
    /// nnz; every column index is below the column count. libpsyne checks only the arrays' placement.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a CSR matrix.</exception>
    /// <exception cref="TensorTypeMismatchException">Wrong value or index type.</exception>
    /// <exception cref="PsyneFormatException">The arrays' contents are inconsistent.</exception>
    public CsrTensor<T, TIndex> AsCsr<T, TIndex>(bool validate = true) where T : unmanaged where TIndex : unmanaged
    {
        psyne_tensor_header* h = Header;
        if ((h->flags & (byte)psyne_tensor_flags.PSYNE_TENSOR_CSR) == 0)
            throw new InvalidOperationException("This tensor is dense, not a CSR matrix: read it with GetData<T>() or AsTensorSpan<T>().");
        TensorTypes.Check<T>((TensorDType)h->dtype, "AsCsr values");
        TensorTypes.Check<TIndex>((TensorDType)h->index_dtype, "AsCsr indices");
        var csr = new CsrTensor<T, TIndex>(h);
        if (validate)
            csr.Validate();
        return csr;
    }

    /// <summary>Releases the record. Never blocks, allocates nothing.</summary>
    public void Release() => _message.Release();

    /// <summary>Releases the record (as <see cref="Release"/>); nothing for a default value. Call one of the two, once.</summary>
    public void Dispose() => _message.Dispose();
}

/// <summary>A CSR sparse matrix read in place from a tensor message (<see cref="TensorMessage.AsCsr{T, TIndex}"/>).</summary>
public readonly unsafe ref struct CsrTensor<T, TIndex> where T : unmanaged where TIndex : unmanaged
{
    private readonly psyne_tensor_header* _header;

    internal CsrTensor(psyne_tensor_header* header) => _header = header;

    /// <summary>Rows of the matrix.</summary>
    public long Rows => (long)_header->shape[0];

    /// <summary>Columns of the matrix.</summary>
    public long Columns => (long)_header->shape[1];

    /// <summary>Stored entries.</summary>
    public long NonZeros => (long)_header->nnz;

    /// <summary>Row offsets (rows + 1).</summary>
    public ReadOnlySpan<TIndex> IndPtr => new((byte*)_header + _header->indptr_offset, checked((int)(Rows + 1)));

    /// <summary>The column of each entry.</summary>
    public ReadOnlySpan<TIndex> Indices => new((byte*)_header + _header->indices_offset, checked((int)NonZeros));

    /// <summary>The value of each entry.</summary>
    public ReadOnlySpan<T> Values => new((byte*)_header + _header->values_offset, checked((int)NonZeros));

    /// <summary>Checks the index arrays' contents in O(rows + nnz); allocates nothing.</summary>
    /// <exception cref="PsyneFormatException">What is wrong, and where.</exception>
    public void Validate()
    {
        if (typeof(TIndex) == typeof(int))
            Check(MemoryMarshal.Cast<TIndex, int>(IndPtr), MemoryMarshal.Cast<TIndex, int>(Indices));
        else
            Check(MemoryMarshal.Cast<TIndex, long>(IndPtr), MemoryMarshal.Cast<TIndex, long>(Indices));
    }

    private void Check<TI>(ReadOnlySpan<TI> indptr, ReadOnlySpan<TI> indices) where TI : unmanaged, System.Numerics.IBinaryInteger<TI>
    {
        long nnz = NonZeros, cols = Columns;
        if (long.CreateTruncating(indptr[0]) != 0)
            throw new PsyneFormatException($"CSR indptr[0] is {indptr[0]}, expected 0.");
        for (int r = 0; r + 1 < indptr.Length; r++)
        {
            long a = long.CreateTruncating(indptr[r]), b = long.CreateTruncating(indptr[r + 1]);
            if (b < a)
                throw new PsyneFormatException($"CSR indptr decreases at row {r}: {a} then {b}.");
            if (b > nnz)
                throw new PsyneFormatException($"CSR indptr[{r + 1}] is {b}, beyond the {nnz} stored entries.");
        }
        long last = long.CreateTruncating(indptr[^1]);
        if (last != nnz)
            throw new PsyneFormatException($"CSR indptr ends at {last}, expected nnz = {nnz}.");
        for (int i = 0; i < indices.Length; i++)
        {
            long c = long.CreateTruncating(indices[i]);
            if ((ulong)c >= (ulong)cols)
                throw new PsyneFormatException($"CSR entry {i} has column {c}, outside 0..{cols - 1}.");
        }
    }
}

/// <summary>Builds System.Numerics.Tensors views over a tensor header's data.</summary>
internal static unsafe class TensorViews
{
    public static TensorSpan<T> Writable<T>(psyne_tensor_header* h) where T : unmanaged
    {
        if (h->dtype == (byte)TensorDType.Ternary2)
            TensorTypes.ThrowMismatch<T>(TensorDType.Ternary2, "AsTensorSpan (packed ternary has no element type; use GetData<byte>())");
        int rank = h->rank;
        T* data = (T*)((byte*)h + h->data_offset);
        nint count = (nint)(h->data_bytes / (ulong)sizeof(T));
        if (rank == 0)
            return new TensorSpan<T>(data, count, [1], [1]);
        Span<nint> lengths = stackalloc nint[rank];
        Span<nint> strides = stackalloc nint[rank];
        for (int i = 0; i < rank; i++)
        {
            lengths[i] = (nint)h->shape[i];
            strides[i] = (nint)h->strides[i];
        }
        return new TensorSpan<T>(data, count, lengths, strides);
    }
}
