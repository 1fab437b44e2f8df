using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

public sealed unsafe partial class Channel
{
    /// <summary>
    /// Reserves <paramref name="size"/> bytes if there is room now. Never blocks, allocates nothing,
    /// copies nothing. Fill <see cref="ChannelReservation.Span"/>, then commit or abort it exactly once;
    /// until then it holds back every record reserved after it.
    /// </summary>
    /// <param name="size">Payload bytes (0 allowed), at most <see cref="MaxPayloadFor"/>(alignment).</param>
    /// <param name="reservation">The space, when the call returns true.</param>
    /// <param name="alignment">Payload alignment: 0 (8 bytes) or a power of two up to 1024.</param>
    /// <returns>False when the ring is full now (counted as a drop or reject under those policies).</returns>
    /// <exception cref="PsyneArgumentException">A size larger than the ring can ever hold, or a bad alignment.</exception>
    /// <exception cref="PsyneClosedException">The channel was completed, its consumers left, or a peer process died.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public bool TryReserve(int size, out ChannelReservation reservation, int alignment = 0)
    {
        ChannelCore core = _core;
        if ((Volatile.Read(ref _notProducing) | Volatile.Read(ref core.LeanProducer) | alignment | (size >> 31)) == 0)
        {
            byte* lean = core.TryReserveLean((uint)size, out ulong leanToken);
            if (lean != null)
            {
                reservation = new ChannelReservation(this, lean, size, leanToken);
                return true;
            }
        }
        CheckProduce(size, alignment);
        if (!core.EnterProducerFast(reserving: true))
            ThrowGate(producer: true);
        byte* payload = core.TryReserveFast((uint)size, (uint)alignment, out ulong token);
        if (payload != null)
        {
            core.ExitProducerFast();
            reservation = new ChannelReservation(this, payload, size, token);
            return true;
        }
        return TryReserveNative(size, alignment, out reservation);
    }

    /// <summary>The rest of <see cref="TryReserve"/>: libpsyne's try, with the policies' outcomes and the errors.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryReserveNative(int size, int alignment, out ChannelReservation reservation)
    {
        if (!_core.EnterProducerSlow(reserving: true))
            ThrowGate(producer: true);
        psyne_reservation r;
        psyne_status s = PsyneNative.psyne_channel_try_reserve(_ptr, (uint)size, (uint)alignment, &r);
        _core.ExitProducer();
        if (s == psyne_status.PSYNE_OK)
        {
            reservation = new ChannelReservation(this, (byte*)r.data, (int)r.capacity, r.token);
            return true;
        }
        reservation = default;
        if (s == psyne_status.PSYNE_E_FULL)
            return false;
        NativeStatus.Throw(s);
        return false;
    }

    /// <summary>
    /// Reserves <paramref name="size"/> bytes, waiting for room as long as it takes under
    /// <see cref="FullPolicy.Block"/>. Allocates nothing; blocks only while the ring is full.
    /// Under <see cref="FullPolicy.Drop"/> a full ring gives a reservation whose
    /// <see cref="ChannelReservation.IsDropped"/> is true: fill and commit it as usual, nothing is sent
    /// (the drop is counted). Under <see cref="FullPolicy.Fail"/> a full ring throws <see cref="PsyneFullException"/>.
    /// </summary>
    /// <inheritdoc cref="TryReserve" path="/exception"/>
    /// <exception cref="PsyneFullException">FullPolicy.Fail and the ring is full.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public ChannelReservation Reserve(int size, int alignment = 0)
    {
        // The lean path first (ChannelCore.Lean.cs): an owned inproc ring, the default alignment.
        ChannelCore core = _core;
        if ((Volatile.Read(ref _notProducing) | Volatile.Read(ref core.LeanProducer) | alignment | (size >> 31)) == 0)
        {
            byte* payload = core.TryReserveLean((uint)size, out ulong token);
            if (payload != null)
                return new ChannelReservation(this, payload, size, token);
        }
        return Reserve(size, Timeout.InfiniteTimeSpan, CancellationToken.None, alignment);
    }

    /// <summary>As <see cref="Reserve(int, int)"/>, waiting at most <paramref name="timeout"/> for room.</summary>
    /// <exception cref="PsyneTimeoutException">The ring stayed full for <paramref name="timeout"/>.</exception>
    public ChannelReservation Reserve(int size, TimeSpan timeout, int alignment = 0) =>
        Reserve(size, timeout, CancellationToken.None, alignment);

    /// <summary>
    /// As <see cref="Reserve(int, int)"/>, waiting at most <paramref name="timeout"/>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: no limit) and until <paramref name="cancellationToken"/>
    /// is cancelled. A cancellable wait registers on the token (which may allocate once per call)
    /// and wakes the native wait when it fires.
    /// </summary>
    /// <exception cref="PsyneTimeoutException">The ring stayed full for <paramref name="timeout"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled first.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the fast path inlines into the caller; slow paths are calls
    public ChannelReservation Reserve(int size, TimeSpan timeout, CancellationToken cancellationToken, int alignment = 0)
    {
        CheckProduce(size, alignment);
        CheckTimeout(timeout);
        // First the common case in place; when the consumer keeps up, that is all it takes.
        // (The core in a local: the JIT would reload the field after every store into the ring.)
        ChannelCore core = _core;
        if (!core.EnterProducerFast(reserving: true))
            ThrowGate(producer: true);
        byte* payload = core.TryReserveFast((uint)size, (uint)alignment, out ulong token);
        if (payload != null)
        {
            core.ExitProducerFast();
            return new ChannelReservation(this, payload, size, token);
        }
        return ReserveSlow(size, alignment, timeout, cancellationToken);
    }

    /// <summary>The rest of <see cref="Reserve(int, TimeSpan, CancellationToken, int)"/> when the common case did not apply: the managed spin for room, then libpsyne.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ChannelReservation ReserveSlow(int size, int alignment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_core.EnterProducerSlow(reserving: true))
            ThrowGate(producer: true);
        if (_spinInManaged && FullPolicy == FullPolicy.Block && timeout != TimeSpan.Zero &&
            _core.SpinForRoom((uint)size, (uint)alignment, SpinCount, _maxPauseRun, Deadline(timeout, nameof(timeout)), cancellationToken))
        {
            byte* payload = _core.TryReserveFast((uint)size, (uint)alignment, out ulong token);
            if (payload != null)
            {
                _core.ExitProducer();
                return new ChannelReservation(this, payload, size, token);
            }
        }
        return ReserveNative(size, alignment, timeout, cancellationToken);
    }

    /// <summary>The rest of <see cref="Reserve(int, TimeSpan, CancellationToken, int)"/>, in flight: libpsyne's try (without a GC transition), then the policies and the wait.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private ChannelReservation ReserveNative(int size, int alignment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        psyne_reservation r;
        psyne_status s = PsyneNative.psyne_channel_try_reserve(_ptr, (uint)size, (uint)alignment, &r);
        _core.ExitProducer();
        if (s == psyne_status.PSYNE_OK)
            return new ChannelReservation(this, (byte*)r.data, (int)r.capacity, r.token);
        if (s != psyne_status.PSYNE_E_FULL)
            NativeStatus.Throw(s);
        // The try has already counted the drop or reject under those policies.
        if (FullPolicy == FullPolicy.Drop)
            return Dropped(size, alignment);
        if (FullPolicy == FullPolicy.Fail)
            NativeStatus.Throw(s);
        return ReserveWaiting(size, alignment, timeout, cancellationToken);
    }

    private ChannelReservation ReserveWaiting(int size, int alignment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        long deadline = Deadline(timeout, nameof(timeout));
        bool sliced = cancellationToken.CanBeCanceled;
        using CancellationTokenRegistration registration = RegisterWake(cancellationToken);
        psyne_reservation r;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfDisposed();
            ulong waitNs = WaitNs(deadline, sliced);
            if (!_core.TryEnterProducer(reserving: true))
                ThrowGate(producer: true);
            psyne_status s = PsyneNative.psyne_channel_reserve(_ptr, (uint)size, (uint)alignment, waitNs, &r);
            _core.ExitProducer();
            if (s == psyne_status.PSYNE_OK)
                return new ChannelReservation(this, (byte*)r.data, (int)r.capacity, r.token);
            if (s != psyne_status.PSYNE_E_TIMEOUT)
                NativeStatus.Throw(s);
            // A timeout is real only past the deadline; before it, the wait was woken (cancellation, Dispose, or another thread's wake-up) or sliced.
            if (deadline != long.MaxValue && System.Diagnostics.Stopwatch.GetTimestamp() >= deadline)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new PsyneTimeoutException(
                    $"channel {Uri}: no room for a {size}-byte record within {Describe(timeout)}: the ring of {Capacity} bytes stayed full (FullPolicy.Block).");
            }
        }
    }

    /// <summary>Under FullPolicy.Drop: a reservation over scratch memory, so the caller's fill-and-commit code runs unchanged and nothing is sent.</summary>
    private ChannelReservation Dropped(int size, int alignment)
    {
        int align = Math.Max(8, alignment);
        byte[]? sink = _sink;
        if (sink is null || sink.Length < size + align)
        {
            // Pinned, so its address (and alignment) never changes; grown, never shrunk.
            sink = GC.AllocateUninitializedArray<byte>(Math.Max(size + align, 256), pinned: true);
            _sink = sink;
        }
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(sink));
        int offset = (int)(((address + align - 1) & ~(nint)(align - 1)) - address);
        return new ChannelReservation(this, sink.AsSpan(offset, size));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckProduce(int size, int alignment)
    {
        if (_disposed != 0)
            ThrowDisposed();
        if (!_canProduce)
            ThrowRole("reserve or write");
        if ((size | alignment) < 0)
            ThrowNegative(size, alignment);
    }

    [DoesNotReturn]
    private static void ThrowNegative(int size, int alignment) =>
        throw (size < 0
            ? new ArgumentOutOfRangeException(nameof(size), size, "The size must not be negative.")
            : new ArgumentOutOfRangeException(nameof(alignment), alignment, "The alignment must not be negative."));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Commit(byte* payload, int capacity, ulong token, int length, ushort type)
    {
        ChannelCore core = _core;
        if ((Volatile.Read(ref _notProducing) | Volatile.Read(ref core.LeanProducer)) == 0 && length == capacity &&
            core.TryCommitLean(payload, token, (uint)length, type))
            return;
        ThrowIfDisposed();
        if (!core.EnterProducerFast(reserving: false))
            ThrowGate(producer: true);
        if (!core.TryCommitFast(payload, (uint)capacity, token, (uint)length, type))
            CommitNative(payload, capacity, token, length, type);
    }

    /// <summary>libpsyne's commit (a short commit gives the rest back as padding; a second commit is an error).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CommitNative(byte* payload, int capacity, ulong token, int length, ushort type)
    {
        if (!_core.EnterProducerSlow(reserving: false))
            ThrowGate(producer: true);
        psyne_reservation r = Native(payload, capacity, token);
        psyne_status s = PsyneNative.psyne_channel_commit(_ptr, &r, (uint)length, type);
        if (s == psyne_status.PSYNE_OK)
            _core.Settle(token);
        _core.ExitProducer();
        if (s != psyne_status.PSYNE_OK)
            NativeStatus.Throw(s);
    }

    internal void Abort(byte* payload, int capacity, ulong token)
    {
        ThrowIfDisposed();
        if (!_core.TryEnterProducer(reserving: false))
            ThrowGate(producer: true);
        psyne_reservation r = Native(payload, capacity, token);
        psyne_status s = PsyneNative.psyne_channel_abort(_ptr, &r);
        if (s == psyne_status.PSYNE_OK)
            _core.Settle(token);
        _core.ExitProducer();
        if (s != psyne_status.PSYNE_OK)
            NativeStatus.Throw(s);
    }

    /// <summary>The reservation as libpsyne handed it out.</summary>
    private static psyne_reservation Native(byte* payload, int capacity, ulong token) =>
        new() { data = payload, capacity = (uint)capacity, length = (uint)capacity, token = token };

    // ---- copying helpers -------------------------------------------------------------------

    /// <summary>
    /// Writes a copy of <paramref name="payload"/> as one record (one copy: into the ring), waiting
    /// for room under <see cref="FullPolicy.Block"/>. Allocates nothing. For zero copies, fill a
    /// <see cref="Reserve(int, int)"/> in place instead.
    /// </summary>
    /// <returns>True if sent; false if dropped (<see cref="FullPolicy.Drop"/>).</returns>
    public bool Write(ReadOnlySpan<byte> payload, ushort type = 0)
    {
        ChannelReservation r = Reserve(payload.Length);
        payload.CopyTo(r.Span);
        r.Commit(type);
        return !r.IsDropped;
    }

    /// <summary>Writes a copy of <paramref name="payload"/> if there is room now. Never blocks; allocates nothing.</summary>
    /// <returns>False when the ring is full.</returns>
    public bool TryWrite(ReadOnlySpan<byte> payload, ushort type = 0)
    {
        if (!TryReserve(payload.Length, out ChannelReservation r))
            return false;
        payload.CopyTo(r.Span);
        r.Commit(type);
        return true;
    }

    /// <summary>
    /// Writes <paramref name="value"/> as one record of <c>sizeof(T)</c> bytes (copied into the ring
    /// unaligned), waiting for room under <see cref="FullPolicy.Block"/>. Allocates nothing.
    /// Read it with <see cref="TryRead{T}(out T)"/> or <see cref="Read{T}()"/>.
    /// </summary>
    /// <returns>True if sent; false if dropped (<see cref="FullPolicy.Drop"/>).</returns>
    public bool Write<T>(in T value, ushort type = 0) where T : unmanaged
    {
        ChannelReservation r = Reserve(sizeof(T));
        Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(r.Span), value);
        r.Commit(type);
        return !r.IsDropped;
    }

    /// <summary>Writes <paramref name="value"/> as one record if there is room now. Never blocks; allocates nothing.</summary>
    /// <returns>False when the ring is full.</returns>
    public bool TryWrite<T>(in T value, ushort type = 0) where T : unmanaged
    {
        if (!TryReserve(sizeof(T), out ChannelReservation r))
            return false;
        Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(r.Span), value);
        r.Commit(type);
        return true;
    }

    private const int BatchMax = 64;

    /// <summary>
    /// Writes each of <paramref name="values"/> as its own record, reserving and committing up to
    /// 64 at a time (one cursor update, one wake-up check and one counter update per batch; on
    /// SPSC channels, as many as fit in one pass).
    /// Waits for room under <see cref="FullPolicy.Block"/>; allocates nothing; copies each value once.
    /// </summary>
    /// <returns>How many were sent: all of them, except those dropped under <see cref="FullPolicy.Drop"/>.</returns>
    /// <exception cref="PsyneFullException">FullPolicy.Fail and the ring filled up (the values before were sent).</exception>
    public int WriteBatch<T>(ReadOnlySpan<T> values, ushort type = 0) where T : unmanaged
    {
        CheckProduce(0, 0);
        uint* sizes = stackalloc uint[BatchMax];
        psyne_reservation* reservations = stackalloc psyne_reservation[BatchMax];
        new Span<uint>(sizes, BatchMax).Fill((uint)sizeof(T));
        int sent = 0, done = 0;
        while (done < values.Length)
        {
            uint want = (uint)Math.Min(BatchMax, values.Length - done), got = 0;
            if (!_core.TryEnterProducer(reserving: true))
                ThrowGate(producer: true);
            // SPSC, the common case: the whole rest in one pass over the ring, in managed code.
            int written = _core.TryWriteBatchFast(values[done..], type);
            if (written > 0)
            {
                _core.ExitProducer();
                done += written;
                sent += written;
                continue;
            }
            psyne_status s = PsyneNative.psyne_channel_try_reserve_batch(_ptr, sizes, want, 0, reservations, &got);
            _core.ExitProducer();
            if (s == psyne_status.PSYNE_E_FULL)
            {
                if (FullPolicy == FullPolicy.Drop)
                {
                    done++; // this value found the ring full: dropped (and counted)
                    continue;
                }
                if (FullPolicy == FullPolicy.Fail)
                    NativeStatus.Throw(s);
                do
                {
                    ThrowIfDisposed();
                    if (!_core.TryEnterProducer(reserving: true))
                        ThrowGate(producer: true);
                    s = PsyneNative.psyne_channel_reserve_batch(_ptr, sizes, want, 0, ulong.MaxValue, reservations, &got);
                    _core.ExitProducer();
                } while (s == psyne_status.PSYNE_E_TIMEOUT); // woken by another thread's cancellation: wait again
            }
            if (s != psyne_status.PSYNE_OK)
                NativeStatus.Throw(s);
            for (uint i = 0; i < got; i++)
            {
                Unsafe.WriteUnaligned(reservations[i].data, values[done + (int)i]);
                reservations[i].type = type;
            }
            if (!_core.TryEnterProducer(reserving: false))
                ThrowGate(producer: true);
            s = PsyneNative.psyne_channel_commit_batch(_ptr, reservations, got);
            _core.ExitProducer();
            if (s != psyne_status.PSYNE_OK)
                NativeStatus.Throw(s);
            done += (int)got;
            sent += (int)got;
        }
        return sent;
    }
}
