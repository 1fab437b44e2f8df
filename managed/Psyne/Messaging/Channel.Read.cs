using System.Diagnostics;
using System.Runtime.CompilerServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

public sealed unsafe partial class Channel
{
    /// <summary>
    /// Takes the next committed record if one is ready. Never blocks, allocates nothing, copies
    /// nothing: <see cref="ChannelMessage.Payload"/> is the record in the ring. Release it when done.
    /// </summary>
    /// <returns>False when no record is ready.</returns>
    /// <exception cref="PsyneClosedException">Every record was delivered and the channel is closed (completed, its producers left, or a peer process died).</exception>
    /// <exception cref="PsyneFormatException">The ring is corrupt (a peer wrote outside its record); the channel is faulted.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public bool TryRead(out ChannelMessage message)
    {
        if (TryReadLean(out message) || TryReadFast(out message))
            return true;
        // By value, not through an out parameter: a local whose address a call takes lives on the
        // stack, and the caller's loop would write the whole message there for every record.
        message = TryReadNative();
        return !message.IsEmpty;
    }

    /// <summary>
    /// The common case of every read, inlined: the core's fast read. False: the call is still
    /// entered (<see cref="ChannelCore.EnterConsumerFast"/>) and must go on in libpsyne or leave.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryReadFast(out ChannelMessage message)
    {
        CheckConsume();
        ChannelCore core = _core; // in a local: the JIT would reload the field after every store into the ring
        if (!core.EnterConsumerFast())
            ThrowGate(producer: false);
        byte* data = core.TryReadFast(out uint length, out ushort type, out ulong token);
        if (data == null)
        {
            message = default;
            return false;
        }
        core.ExitConsumerFast();
        message = new ChannelMessage(this, data, length, type, token);
        return true;
    }

    /// <summary>The rest of <see cref="TryRead(out ChannelMessage)"/>: libpsyne's try (empty, padding, closed, corrupt); an empty message when none is ready. Leaves the call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ChannelMessage TryReadNative()
    {
        if (!_core.EnterConsumerSlow())
            ThrowGate(producer: false);
        psyne_record r;
        psyne_status s = PsyneNative.psyne_channel_try_read(_ptr, &r);
        _core.ExitConsumer();
        if (s == psyne_status.PSYNE_OK)
            return new ChannelMessage(this, r);
        if (s != psyne_status.PSYNE_E_TIMEOUT)
            NativeStatus.Throw(s);
        return default;
    }

    /// <summary>Takes the next record, waiting as long as it takes (per <see cref="WaitPolicy"/>). Allocates nothing.</summary>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public ChannelMessage Read() =>
        TryReadLean(out ChannelMessage message) ? message : Read(Timeout.InfiniteTimeSpan, CancellationToken.None);

    /// <summary>The lean path of every read (ChannelCore.Lean.cs): an owned inproc ring, a record of the usual shape at the head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryReadLean(out ChannelMessage message)
    {
        ChannelCore core = _core;
        if ((Volatile.Read(ref _notConsuming) | Volatile.Read(ref core.LeanConsumer)) == 0)
        {
            byte* data = core.TryReadLean(out uint length, out ushort type, out ulong token);
            if (data != null)
            {
                message = new ChannelMessage(this, data, length, type, token);
                return true;
            }
        }
        message = default;
        return false;
    }

    /// <summary>Takes the next record, waiting at most <paramref name="timeout"/>. Allocates nothing.</summary>
    /// <exception cref="PsyneTimeoutException">No record within <paramref name="timeout"/>.</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    public ChannelMessage Read(TimeSpan timeout) => Read(timeout, CancellationToken.None);

    /// <summary>
    /// Takes the next record, waiting at most <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>:
    /// no limit) and until <paramref name="cancellationToken"/> is cancelled. A cancellable wait
    /// registers on the token (which may allocate once per call) and wakes the native wait when it fires.
    /// </summary>
    /// <exception cref="PsyneTimeoutException">No record within <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public ChannelMessage Read(TimeSpan timeout, CancellationToken cancellationToken)
    {
        CheckTimeout(timeout);
        if (TryReadFast(out ChannelMessage message))
            return message;
        return ReadSlow(timeout, cancellationToken);
    }

    /// <summary>The rest of <see cref="Read(TimeSpan, CancellationToken)"/> when the common case did not apply (entered by TryReadFast): the managed spin, then libpsyne's read and wait.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ChannelMessage ReadSlow(TimeSpan timeout, CancellationToken cancellationToken)
    {
        _core.ExitConsumerFast();
        if (_spinInManaged && SpinForRecord(timeout, cancellationToken) && TryRead(out ChannelMessage message))
            return message;
        return ReadWaiting(timeout, cancellationToken);
    }

    /// <summary>The managed spin before libpsyne's wait (ChannelCore.SpinForRecord), in flight.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool SpinForRecord(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout == TimeSpan.Zero)
            return false;
        if (!_core.TryEnterConsumer())
            ThrowGate(producer: false);
        bool ready = _core.SpinForRecord(SpinCount, _maxPauseRun, Deadline(timeout, nameof(timeout)), cancellationToken);
        _core.ExitConsumer();
        return ready;
    }

    private ChannelMessage ReadWaiting(TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Deadline(timeout, nameof(timeout));
        bool sliced = cancellationToken.CanBeCanceled;
        using CancellationTokenRegistration registration = RegisterWake(cancellationToken);
        psyne_record r;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfDisposed();
            ulong waitNs = WaitNs(deadline, sliced);
            if (!_core.TryEnterConsumer())
                ThrowGate(producer: false);
            psyne_status s = PsyneNative.psyne_channel_read(_ptr, waitNs, &r);
            _core.ExitConsumer();
            if (s == psyne_status.PSYNE_OK)
                return new ChannelMessage(this, r);
            if (s != psyne_status.PSYNE_E_TIMEOUT)
                NativeStatus.Throw(s);
            if (deadline != long.MaxValue && Stopwatch.GetTimestamp() >= deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new PsyneTimeoutException($"channel {Uri}: no record arrived within {Describe(timeout)}.");
            }
        }
    }

    /// <summary>
    /// Takes the next record. When one is ready this completes synchronously and allocates nothing;
    /// otherwise one thread-pool thread waits for it natively (a futex sleep under
    /// <see cref="WaitPolicy.SpinYieldFutex"/>; under <see cref="WaitPolicy.Spin"/> it spins) and the
    /// call allocates its task.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    public ValueTask<ChannelMessage> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<ChannelMessage>(cancellationToken);
        try
        {
            if (TryRead(out ChannelMessage message))
                return new ValueTask<ChannelMessage>(message);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<ChannelMessage>(e);
        }
        return new ValueTask<ChannelMessage>(Task.Run(() => ReadWaiting(Timeout.InfiniteTimeSpan, cancellationToken), cancellationToken));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckConsume()
    {
        if (_disposed != 0)
            ThrowDisposed();
        if (!_canConsume)
            ThrowRole("read");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Release(void* data, uint length, ushort type, ulong token)
    {
        ChannelCore core = _core;
        if ((Volatile.Read(ref _notConsuming) | Volatile.Read(ref core.LeanConsumer)) == 0 && core.TryReleaseLean(token, length))
            return;
        ThrowIfDisposed();
        if (!core.EnterConsumerFast())
            ThrowGate(producer: false);
        if (!core.TryReleaseFast(token))
            ReleaseNative(data, length, type, token);
    }

    /// <summary>libpsyne's release (out of order, markers ahead, or an error such as a second release).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseNative(void* data, uint length, ushort type, ulong token)
    {
        if (!_core.EnterConsumerSlow())
            ThrowGate(producer: false);
        psyne_record r = new() { data = data, length = length, type = type, token = token };
        psyne_status s = PsyneNative.psyne_channel_release(_ptr, &r);
        _core.ExitConsumer();
        if (s != psyne_status.PSYNE_OK)
            NativeStatus.Throw(s);
    }

    // ---- typed helpers ---------------------------------------------------------------------

    /// <summary>
    /// Reads a record written by <see cref="Write{T}(in T, ushort)"/> into <paramref name="value"/>
    /// (a copy of <c>sizeof(T)</c> bytes) and releases it. Never blocks; allocates nothing.
    /// </summary>
    /// <returns>False when no record is ready.</returns>
    /// <exception cref="PsyneFormatException">The record is not <c>sizeof(T)</c> bytes long (it is released).</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    public bool TryRead<T>(out T value) where T : unmanaged
    {
        if (!TryRead(out ChannelMessage message))
        {
            value = default;
            return false;
        }
        value = TakeValue<T>(message);
        return true;
    }

    /// <summary>Reads a <typeparamref name="T"/> record, waiting as long as it takes; see <see cref="TryRead{T}(out T)"/>.</summary>
    public T Read<T>() where T : unmanaged => TakeValue<T>(Read(Timeout.InfiniteTimeSpan, CancellationToken.None));

    /// <summary>Reads a <typeparamref name="T"/> record, waiting at most <paramref name="timeout"/>; see <see cref="TryRead{T}(out T)"/>.</summary>
    /// <exception cref="PsyneTimeoutException">No record within <paramref name="timeout"/>.</exception>
    public T Read<T>(TimeSpan timeout) where T : unmanaged => TakeValue<T>(Read(timeout, CancellationToken.None));

    private static T TakeValue<T>(in ChannelMessage message) where T : unmanaged
    {
        if (message.Length != sizeof(T))
        {
            int length = message.Length;
            message.Release();
            throw new PsyneFormatException(
                $"channel {message.Channel.Uri}: a record of {length} bytes cannot be read as {typeof(T).Name} ({sizeof(T)} bytes); the record was released.");
        }
        T value = Unsafe.ReadUnaligned<T>(message.DataPointer);
        message.Release();
        return value;
    }

    /// <summary>
    /// Reads up to <c>destination.Length</c> records written as <typeparamref name="T"/> values, as many
    /// as are ready now, and releases them: one cursor update, one wake-up check and one counter
    /// update per 64 (on SPSC channels, per call). Never blocks; allocates nothing; copies each value once.
    /// </summary>
    /// <returns>How many were read (0 when none is ready).</returns>
    /// <exception cref="PsyneFormatException">A record is not <c>sizeof(T)</c> bytes. On SPSC channels the values before it are returned first, and the call that meets it releases that record only; elsewhere the batch holding it is released.</exception>
    /// <inheritdoc cref="TryRead(out ChannelMessage)" path="/exception"/>
    public int TryReadBatch<T>(Span<T> destination) where T : unmanaged
    {
        CheckConsume();
        psyne_record* records = stackalloc psyne_record[BatchMax];
        int total = 0;
        while (total < destination.Length)
        {
            uint want = (uint)Math.Min(BatchMax, destination.Length - total), got = 0;
            if (!_core.TryEnterConsumer())
                ThrowGate(producer: false);
            if (_core.Fast)
            {
                // SPSC: every ready record in one pass over the ring, in managed code. Where the
                // pass stops at something libpsyne must judge (padding, a record held before it,
                // a record of another size), the values read so far are returned first; a call
                // that starts there takes that one record through libpsyne, so a record of
                // another size costs only itself.
                int fast = _core.TryReadBatchFast(destination[total..], out bool irregular);
                if (fast > 0 || !irregular || total > 0)
                {
                    _core.ExitConsumer();
                    return total + fast;
                }
                ChannelMessage one = TryReadNative(); // leaves the call
                if (one.IsEmpty)
                    return 0;
                destination[0] = TakeValue<T>(one);
                total = 1;
                continue;
            }
            psyne_status s = PsyneNative.psyne_channel_try_read_batch(_ptr, want, records, &got);
            _core.ExitConsumer();
            if (s == psyne_status.PSYNE_E_TIMEOUT || (s == psyne_status.PSYNE_E_CLOSED && total > 0))
                break;
            if (s != psyne_status.PSYNE_OK)
                NativeStatus.Throw(s);
            int bad = -1;
            for (int i = 0; i < (int)got; i++)
            {
                if (records[i].length != (uint)sizeof(T))
                {
                    bad = i;
                    break;
                }
                destination[total + i] = Unsafe.ReadUnaligned<T>(records[i].data);
            }
            if (!_core.TryEnterConsumer())
                ThrowGate(producer: false);
            s = PsyneNative.psyne_channel_release_batch(_ptr, records, got);
            _core.ExitConsumer();
            if (s != psyne_status.PSYNE_OK)
                NativeStatus.Throw(s);
            if (bad >= 0)
            {
                throw new PsyneFormatException(
                    $"channel {Uri}: a record of {records[bad].length} bytes cannot be read as {typeof(T).Name} ({sizeof(T)} bytes); the batch was released.");
            }
            total += (int)got;
            if (got < want)
                break;
        }
        return total;
    }
}
