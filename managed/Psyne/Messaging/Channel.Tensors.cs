using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

public sealed unsafe partial class Channel
{
    /// <summary>
    /// Reserves a dense tensor of <paramref name="shape"/> with <typeparamref name="T"/> elements
    /// (float, double, Half, sbyte, byte, int, long) in place: the header is filled, the data is
    /// 64-byte aligned in the ring. Fill <see cref="TensorReservation{T}.Data"/>, then commit.
    /// Waits for room under <see cref="FullPolicy.Block"/>; allocates nothing; copies nothing.
    /// </summary>
    /// <exception cref="TensorTypeMismatchException"><typeparamref name="T"/> is not a tensor element type.</exception>
    /// <exception cref="ArgumentException">More than 8 dimensions, or a negative one.</exception>
    /// <exception cref="PsyneArgumentException">A layout whose rank does not match, or a tensor larger than the ring can hold.</exception>
    /// <inheritdoc cref="Reserve(int, int)" path="/exception"/>
    public TensorReservation<T> ReserveTensor<T>(scoped ReadOnlySpan<nint> shape, TensorLayout layout = TensorLayout.RowMajor)
        where T : unmanaged =>
        ReserveTensor<T>(TensorTypes.Of<T>(), shape, Timeout.InfiniteTimeSpan, CancellationToken.None, layout);

    /// <summary>
    /// As <see cref="ReserveTensor{T}(ReadOnlySpan{nint}, TensorLayout)"/> with an explicit
    /// <paramref name="dtype"/> (for f16/bf16 bits as <see cref="ushort"/>, packed ternary as
    /// <see cref="byte"/>), waiting at most <paramref name="timeout"/> and until <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <exception cref="TensorTypeMismatchException"><typeparamref name="T"/> does not view <paramref name="dtype"/>.</exception>
    /// <exception cref="PsyneTimeoutException">The ring stayed full for <paramref name="timeout"/>.</exception>
    public TensorReservation<T> ReserveTensor<T>(TensorDType dtype, scoped ReadOnlySpan<nint> shape, TimeSpan timeout,
                                                 CancellationToken cancellationToken = default,
                                                 TensorLayout layout = TensorLayout.RowMajor) where T : unmanaged
    {
        TensorTypes.Check<T>(dtype, "ReserveTensor");
        psyne_tensor_header header;
        int bytes = DenseHeader(&header, dtype, shape, layout);
        ChannelReservation r = Reserve(bytes, timeout, cancellationToken, PsyneNative.PSYNE_TENSOR_ALIGNMENT);
        *(psyne_tensor_header*)r.DataPointer() = header;
        return new TensorReservation<T>(r);
    }

    /// <summary>As <see cref="ReserveTensor{T}(ReadOnlySpan{nint}, TensorLayout)"/> if there is room now; never blocks.</summary>
    /// <returns>False when the ring is full.</returns>
    public bool TryReserveTensor<T>(scoped ReadOnlySpan<nint> shape, out TensorReservation<T> tensor,
                                    TensorLayout layout = TensorLayout.RowMajor) where T : unmanaged
    {
        TensorDType dtype = TensorTypes.Of<T>();
        TensorTypes.Check<T>(dtype, "TryReserveTensor");
        psyne_tensor_header header;
        int bytes = DenseHeader(&header, dtype, shape, layout);
        if (!TryReserve(bytes, out ChannelReservation r, PsyneNative.PSYNE_TENSOR_ALIGNMENT))
        {
            tensor = default;
            return false;
        }
        *(psyne_tensor_header*)r.DataPointer() = header;
        tensor = new TensorReservation<T>(r);
        return true;
    }

    /// <summary>
    /// Writes a copy of <paramref name="data"/> (row-major unless <paramref name="layout"/> says
    /// otherwise) as a tensor of <paramref name="shape"/>: one copy, into the ring. For zero copies,
    /// fill <see cref="ReserveTensor{T}(ReadOnlySpan{nint}, TensorLayout)"/> in place.
    /// </summary>
    /// <returns>True if sent; false if dropped (<see cref="FullPolicy.Drop"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="data"/> does not hold exactly the elements the shape needs.</exception>
    public bool WriteTensor<T>(ReadOnlySpan<T> data, scoped ReadOnlySpan<nint> shape, TensorLayout layout = TensorLayout.RowMajor,
                               ushort type = 0) where T : unmanaged
    {
        TensorReservation<T> tensor = ReserveTensor<T>(shape, layout);
        Span<T> destination = tensor.Data;
        if (data.Length != destination.Length)
        {
            tensor.Abort();
            throw new ArgumentException($"The shape needs {destination.Length} elements; the data holds {data.Length}.", nameof(data));
        }
        data.CopyTo(destination);
        tensor.Commit(type);
        return !tensor.IsDropped;
    }

    /// <summary>
    /// Reserves a CSR sparse matrix of <paramref name="rows"/> × <paramref name="columns"/> with
    /// <paramref name="nonZeros"/> entries in place: indptr, indices and values each 64-byte aligned.
    /// Waits for room under <see cref="FullPolicy.Block"/>; allocates nothing.
    /// </summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <typeparam name="TIndex"><see cref="int"/> or <see cref="long"/>.</typeparam>
    /// <exception cref="TensorTypeMismatchException">A value type that is no element type, or an index type other than int or long.</exception>
    /// <exception cref="PsyneArgumentException">Sizes that overflow, nnz above rows × columns, int indices that cannot hold the sizes, or a matrix larger than the ring.</exception>
    public SparseTensorReservation<T, TIndex> ReserveSparseTensor<T, TIndex>(long rows, long columns, long nonZeros)
        where T : unmanaged where TIndex : unmanaged
    {
        TensorDType dtype = TensorTypes.Of<T>();
        TensorTypes.Check<T>(dtype, "ReserveSparseTensor values");
        TensorDType indexType = typeof(TIndex) == typeof(int) ? TensorDType.I32 : typeof(TIndex) == typeof(long) ? TensorDType.I64 : TensorDType.Invalid;
        if (indexType == TensorDType.Invalid)
        {
            throw new TensorTypeMismatchException(TensorDType.Invalid, typeof(TIndex),
                $"CSR indices are int or long, not {typeof(TIndex).Name}.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(nonZeros);
        NativeRuntime.EnsureInitialized();
        psyne_tensor_header header;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_tensor_header_init_csr(&header, (int)dtype, (int)indexType, (ulong)rows, (ulong)columns, (ulong)nonZeros));
        int bytes = RecordBytes(&header);
        ChannelReservation r = Reserve(bytes, PsyneNative.PSYNE_TENSOR_ALIGNMENT);
        *(psyne_tensor_header*)r.DataPointer() = header;
        return new SparseTensorReservation<T, TIndex>(r);
    }

    private static int DenseHeader(psyne_tensor_header* header, TensorDType dtype, scoped ReadOnlySpan<nint> shape, TensorLayout layout)
    {
        if (shape.Length > PsyneNative.PSYNE_TENSOR_MAX_RANK)
            throw new ArgumentException($"A tensor has at most {PsyneNative.PSYNE_TENSOR_MAX_RANK} dimensions; the shape has {shape.Length}.", nameof(shape));
        ulong* dims = stackalloc ulong[PsyneNative.PSYNE_TENSOR_MAX_RANK];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0)
                throw new ArgumentException($"Dimension {i} of the shape is {shape[i]}; dimensions are non-negative.", nameof(shape));
            dims[i] = (ulong)shape[i];
        }
        NativeRuntime.EnsureInitialized();
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_tensor_header_init(header, (int)dtype, (uint)shape.Length, dims, (int)layout));
        return RecordBytes(header);
    }

    private static int RecordBytes(psyne_tensor_header* header)
    {
        ulong bytes;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_tensor_record_bytes(header, &bytes));
        if (bytes > int.MaxValue)
        {
            throw new PsyneArgumentException(
                $"A tensor record of {bytes} bytes is larger than any channel can hold ({ChannelOptions.MaxCapacity} bytes at most): send it in parts.");
        }
        return (int)bytes;
    }

    // ---- reading ---------------------------------------------------------------------------

    /// <summary>
    /// Takes the next record if one is ready and checks it is a tensor (header only). Never blocks,
    /// allocates nothing, copies nothing. A record that is not a valid tensor is released and
    /// reported as <see cref="PsyneFormatException"/>.
    /// </summary>
    /// <returns>False when no record is ready.</returns>
    /// <exception cref="PsyneFormatException">The record is not a valid tensor (wrong magic, version, dtype, shape, lengths...).</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    public bool TryReadTensor(out TensorMessage tensor)
    {
        if (!TryRead(out ChannelMessage message))
        {
            tensor = default;
            return false;
        }
        tensor = TensorMessage.FromOrRelease(message);
        return true;
    }

    /// <summary>Takes the next tensor, waiting as long as it takes; see <see cref="TryReadTensor"/>.</summary>
    public TensorMessage ReadTensor() => TensorMessage.FromOrRelease(Read(Timeout.InfiniteTimeSpan, CancellationToken.None));

    /// <summary>Takes the next tensor, waiting at most <paramref name="timeout"/> and until <paramref name="cancellationToken"/> is cancelled; see <see cref="TryReadTensor"/>.</summary>
    /// <exception cref="PsyneTimeoutException">No record within <paramref name="timeout"/>.</exception>
    public TensorMessage ReadTensor(TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TensorMessage.FromOrRelease(Read(timeout, cancellationToken));

    /// <summary>Takes the next tensor asynchronously; see <see cref="ReadAsync"/> for the cost and <see cref="TryReadTensor"/> for the checks.</summary>
    public ValueTask<TensorMessage> ReadTensorAsync(CancellationToken cancellationToken = default)
    {
        ValueTask<ChannelMessage> read = ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
            return new ValueTask<TensorMessage>(TensorMessage.FromOrRelease(read.Result));
        return TensorAwait.Validated(read);
    }
}

internal static unsafe class ReservationExtensions
{
    public static void* DataPointer(this ChannelReservation reservation) =>
        System.Runtime.CompilerServices.Unsafe.AsPointer(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(reservation.Span));
}

internal static class TensorAwait
{
    public static async ValueTask<TensorMessage> Validated(ValueTask<ChannelMessage> pending) =>
        TensorMessage.FromOrRelease(await pending.ConfigureAwait(false));
}
