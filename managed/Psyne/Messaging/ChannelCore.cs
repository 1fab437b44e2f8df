using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// Owns one native <c>psyne_channel</c> handle and keeps it alive while calls run on it.
/// </summary>
/// <remarks>
/// <para><c>psyne_channel_close</c> must be the last call on a handle, so every call is bracketed
/// by an enter/exit pair and <see cref="CloseChannel"/> waits until none is in flight. A SafeHandle
/// AddRef per call would do that with two locked instructions on one shared word, which producer
/// and consumer threads would bounce between their cores on every message. Instead each side has
/// its own in-flight word on its own cache line; a single-threaded side (the producer of an
/// SPSC/SPMC ring, the consumer of an SPSC/MPSC ring) sets it with plain stores, and
/// <see cref="CloseChannel"/> pairs them with <see cref="Interlocked.MemoryBarrierProcessWide"/> (an
/// asymmetric Dekker handshake: either the caller sees the gate closed, or the closer sees the
/// caller in flight). Multi-threaded sides count with interlocked increments.</para>
/// <para>An SPSC core owns its ring's memory (<see cref="RingMemory"/>: an inproc block or an ipc handle's mapping), so the common
/// case of its data-path calls, which touches nothing else, skips the in-flight word: see
/// "calls in flight" below.</para>
/// <para>The SafeHandle base still frees the native handle from its finalizer when every
/// <see cref="Channel"/> that used it was forgotten without Dispose.</para>
/// </remarks>
internal sealed unsafe partial class ChannelCore : PsyneSafeHandle
{
    internal const int GateClosing = 1;
    internal const int GateNoConsumers = 2;

    private InFlight _inFlight;
    private int _gate;

    private ChannelCore(ChannelAddress address, bool singleProducer, bool singleConsumer)
    {
        Address = address;
        Uri = address.ToString();
        SingleProducer = singleProducer;
        SingleConsumer = singleConsumer;
    }

    public psyne_channel* Ptr { get; private set; }

    public ChannelAddress Address { get; }

    public string Uri { get; }

    public bool SingleProducer { get; private set; }

    public bool SingleConsumer { get; private set; }

    // Channel objects sharing this handle (inproc), guarded by InprocRegistry's lock; ipc handles have one.
    internal int Refs;
    internal int ProducerRefs;
    internal int ConsumerRefs;

    public bool IsClosing => (Volatile.Read(ref _gate) & GateClosing) != 0;

    public int Gate => Volatile.Read(ref _gate);

    /// <summary>Adopts a handle libpsyne returned; the kind decides how each side counts calls in flight.</summary>
    public static ChannelCore Adopt(ChannelAddress address, psyne_channel* channel)
    {
        var core = new ChannelCore(address, singleProducer: false, singleConsumer: false);
        core.SetHandle((nint)channel);
        core.Ptr = channel;
        psyne_channel_info info;
        psyne_status s = PsyneNative.psyne_channel_info_get(channel, &info);
        if (s != psyne_status.PSYNE_OK)
        {
            core.Dispose();
            NativeStatus.Throw(s);
        }
        var kind = (ChannelKind)info.kind;
        core.SingleProducer = kind is ChannelKind.Spsc or ChannelKind.Spmc;
        core.SingleConsumer = kind is ChannelKind.Spsc or ChannelKind.Mpsc;
        if (kind == ChannelKind.Spsc && ManagedDataPath)
            core.MapRegion(info.transport == (int)psyne_channel_transport.PSYNE_TRANSPORT_IPC);
        ChannelMetrics.Track(core);
        return core;
    }

    // ---- the managed SPSC data path ---------------------------------------------------------
    //
    // For SPSC rings the common case of each data-path call (room or a record there, no wrap,
    // the oldest record released) runs here on the ring's bytes, as libpsyne's single-record
    // functions do (native/src/ring/ring.c: psyne__ring_reserve_one, _commit_one, _read_one,
    // _release_one), and everything else calls libpsyne, which also gives the errors their
    // messages. A P/Invoke per operation cost more than the operation (docs/architecture.md,
    // "Decisions and departures"). The layout is docs/wire-format.md; the offsets come from
    // psyne_channel.h. Each call runs inside the side's in-flight bracket, so the region is
    // never unmapped under it.

    /// <summary>False: every call goes through libpsyne (<c>PSYNE_MANAGED_DATA_PATH=0</c>, or tests).</summary>
    internal static bool ManagedDataPath = Environment.GetEnvironmentVariable("PSYNE_MANAGED_DATA_PATH") != "0";

    /// <summary>
    /// ipc producers still call libpsyne once per this many bytes of records (about 900 records of
    /// 64 bytes), which checks the peers' liveness (every 50 ms): a producer whose consumer died
    /// learns it within that much, not only once the ring is full.
    /// </summary>
    internal const ulong LivenessStride = 64 << 10;

    private const ulong HeaderCommitted = (ulong)PsyneNative.PSYNE_RECORD_FLAG_COMMITTED << 48;

    private byte* _region;
    private byte* _data;
    private ulong _mask;
    private ulong _capacity;
    private bool _fast;
    private bool _wake;
    private bool _fence;
    private bool _ipc;
    private volatile bool _shut;
    private bool _unbracketed;
    private RingMemory? _ringMemory;

    /// <summary>True when this SPSC ring's data path runs in managed code.</summary>
    public bool Fast => _fast;

    /// <summary>True when this core owns its ring's memory (an inproc block or an ipc mapping), so the common case of each call needs no in-flight mark.</summary>
    public bool OwnsRing => _unbracketed;

    private void MapRegion(bool ipc)
    {
        psyne_channel_region region;
        if (PsyneNative.psyne_channel_region_get(Ptr, &region) != psyne_status.PSYNE_OK || region.kind != (int)ChannelKind.Spsc)
            return;
        _region = region.@base;
        _data = region.@base + PsyneNative.PSYNE_SEGMENT_DATA_OFFSET;
        _capacity = region.capacity;
        _mask = region.capacity - 1;
        _wake = (region.flags & (uint)PsyneNative.PSYNE_REGION_WAKE) != 0;
        _fence = (region.flags & (uint)PsyneNative.PSYNE_REGION_FENCE) != 0;
        _ipc = ipc;
        _inFlight.LivenessAt = ipc ? 0 : ulong.MaxValue; // ipc: the first reserve goes to libpsyne
        SetCachedRelease(0);
        _inFlight.LastRead = ulong.MaxValue; // no read yet: no release matches
        // The ring's bytes (an ipc handle's whole mapping) become ours, so the common case needs no
        // in-flight marks (RingMemory).
        _ringMemory = RingMemory.TryTake(Ptr, this);
        _unbracketed = _ringMemory != null;
        _fast = true;
        EnableLeanPaths();
    }

    private ref ulong At(int offset) => ref *(ulong*)(_region + offset);

    /// <summary>
    /// Reserves <paramref name="size"/> bytes in the common case (aligned cursor, no wrap, room
    /// within the cached release head, gate open). Null: call libpsyne. Producer side, in flight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryReserveFast(uint size, uint alignment, out ulong token)
    {
        token = 0;
        if (!TryPlace(size, alignment, out ulong tail, out ulong index, out ulong payload, out ulong span))
            return null;
        byte* region = _region;
        ulong capacity = _capacity;
        // The gate (closed, faulted) and this handle's shutdown go to libpsyne for their errors.
        if ((tail & 7) != 0 || index + span > capacity ||
            *(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0 || _shut)
            return null;
        ulong end = tail + span + PsyneNative.PSYNE_RECORD_HEADER_BYTES; // keep the next header's slot free
        if (end > _inFlight.CachedRelease + capacity && !RefreshRelease(tail, end))
            return null;
        if (end > _inFlight.LivenessAt)
        {
            ArmLivenessCall(tail);
            return null;
        }
        // Zero ahead: the slot after this record reads 0 until it is published.
        *(ulong*)(_data + ((tail + span) & _mask)) = 0;
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET), tail + span);
        token = tail;
        byte* reserved = _data + payload;
        GC.KeepAlive(this); // this core holds the ring's memory (RingMemory) until here
        return reserved;
    }

    /// <summary>
    /// Where a record of <paramref name="size"/> bytes would go at the tail: its position, its
    /// index in the data area, its payload's index and its span. False: not an SPSC ring on the
    /// managed path, or an alignment libpsyne must judge (not a power of two, or too large).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryPlace(uint size, uint alignment, out ulong tail, out ulong index, out ulong payload, out ulong span)
    {
        tail = index = payload = span = 0;
        if (!_fast || (alignment & (alignment - 1)) != 0 || alignment > PsyneNative.PSYNE_RECORD_MAX_ALIGNMENT)
            return false;
        ulong a = alignment < PsyneNative.PSYNE_RECORD_ALIGNMENT ? PsyneNative.PSYNE_RECORD_ALIGNMENT : alignment;
        tail = *(ulong*)(_region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET);
        index = tail & _mask;
        payload = (index + PsyneNative.PSYNE_RECORD_HEADER_BYTES + a - 1) & ~(a - 1);
        span = (payload - index + size + 7) & ~7UL;
        return true;
    }

    /// <summary>Re-reads the release head (checked: a corrupt ring goes to libpsyne); true when the record fits now.</summary>
    private bool RefreshRelease(ulong tail, ulong end)
    {
        ulong release = Volatile.Read(ref At(PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET)) & ~1UL;
        if ((release & 7) != 0 || release > tail || tail - release > _capacity || end > release + _capacity)
            return false;
        SetCachedRelease(release);
        return true;
    }

    /// <summary>Notes a release head seen (never ahead of the real one), and where the lean reserve must stop for it.</summary>
    private void SetCachedRelease(ulong release)
    {
        _inFlight.CachedRelease = release;
        _inFlight.LeanLimit = Math.Min(release + _capacity, _inFlight.LivenessAt);
    }

    /// <summary>ipc: this reserve goes to libpsyne, which checks the peers; the next one after <see cref="LivenessStride"/> more bytes.</summary>
    private void ArmLivenessCall(ulong tail)
    {
        _inFlight.LivenessAt = tail + LivenessStride;
        SetCachedRelease(_inFlight.CachedRelease);
    }

    /// <summary>
    /// Publishes a whole reservation from <see cref="TryReserveFast"/> (or libpsyne) and ends the
    /// call entered with <see cref="EnterProducerFast"/>. False: call libpsyne (a short commit, a
    /// reservation already committed), still in the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryCommitFast(byte* payload, uint capacity, ulong token, uint length, ushort type)
    {
        byte* data = _data;
        ulong index = token & _mask;
        ulong skipBytes = (ulong)(payload - data) - index - PsyneNative.PSYNE_RECORD_HEADER_BYTES;
        if (!_fast || length != capacity || ((token | skipBytes) & 7) != 0 || skipBytes > 8 * PsyneNative.PSYNE_RECORD_MAX_SKIP)
            return false;
        // Only the latest reservation, once: the tail is right behind it and no commit or abort
        // settled it yet (anything else, libpsyne judges by the header slot). Loading that slot
        // here instead, on the line the consumer polls, cost the producer more than everything
        // else in the commit: docs/architecture.md, "Inproc fast paths without in-flight marks".
        byte* region = _region;
        ulong span = (PsyneNative.PSYNE_RECORD_HEADER_BYTES + skipBytes + capacity + 7) & ~7UL;
        if (token + span != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET) || token < _inFlight.SettledEnd)
            return false;
        _inFlight.SettledEnd = token + 1;
        // The header last, with release semantics: a consumer that sees it sees the payload.
        Volatile.Write(ref *(ulong*)(data + index), length | ((ulong)type << 32) | HeaderCommitted | (skipBytes << 53));
        Count(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET, length);
        EndPublish(PsyneNative.PSYNE_SEGMENT_READERS_WAITING_OFFSET, consumers: 1);
        return true;
    }

    /// <summary>
    /// Adds one message of <paramref name="length"/> bytes to a side's two counters (messages, then
    /// bytes, adjacent on that side's line) with one 16-byte load and store: each counter is its
    /// own aligned 8-byte word within one cache line, which x86 and Arm64 write whole.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Count(byte* messages, uint length)
    {
        Vector128<ulong> counters = Vector128.Load((ulong*)messages);
        Vector128.Store(counters + Vector128.Create(1UL, length), (ulong*)messages);
    }

    // The counter pairs Count updates: bytes right after messages, on each side.
    private const int WrittenPairCheck = 1 / (PsyneNative.PSYNE_SEGMENT_BYTES_WRITTEN_OFFSET - PsyneNative.PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET == 8 ? 1 : 0);
    private const int ReadPairCheck = 1 / (PsyneNative.PSYNE_SEGMENT_BYTES_READ_OFFSET - PsyneNative.PSYNE_SEGMENT_MESSAGES_READ_OFFSET == 8 ? 1 : 0);

    /// <summary>
    /// Notes that the reservation at <paramref name="token"/> was committed or aborted through
    /// libpsyne, so the fast commit refuses it from now on (libpsyne reports the misuse).
    /// Producer side.
    /// </summary>
    public void Settle(ulong token) => _inFlight.SettledEnd = Math.Max(_inFlight.SettledEnd, token + 1);

    /// <summary>Takes the next record in the common case (a published record, not padding, within the lap). Null: call libpsyne (empty, padding, closed, corrupt). Consumer side, in flight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryReadFast(out uint length, out ushort type, out ulong token)
    {
        length = 0;
        type = 0;
        token = 0;
        if (!_fast)
            return null;
        byte* region = _region, data = _data;
        ulong capacity = _capacity;
        ulong head = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET);
        ulong index = head & _mask;
        ulong h = Volatile.Read(ref *(ulong*)(data + index));
        ulong skip = h >> 56;
        if ((h & (0xFFUL << 48)) != HeaderCommitted || skip > PsyneNative.PSYNE_RECORD_MAX_SKIP || (head & 7) != 0)
            return null;
        uint len = (uint)h;
        ulong span = (PsyneNative.PSYNE_RECORD_HEADER_BYTES + 8 * skip + len + 7) & ~7UL;
        if (span > capacity - index ||
            head + span - *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET) > capacity)
            return null;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET) = head + span;
        _inFlight.LastRead = head;
        _inFlight.LastReadEnd = head + span;
        Count(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_READ_OFFSET, len);
        length = len;
        type = (ushort)(h >> 32);
        token = head;
        GC.KeepAlive(this);
        return data + index + PsyneNative.PSYNE_RECORD_HEADER_BYTES + 8 * skip;
    }

    /// <summary>Releases the oldest record held (the usual case) and ends the call entered with <see cref="EnterConsumerFast"/>. False: call libpsyne (out of order, markers ahead, released twice), still in the call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReleaseFast(ulong position)
    {
        if (!_fast)
            return false;
        // The record the last fast read took, and nothing read after it: the release head moves
        // to where that read left the head. Every value compared is one this consumer wrote, so
        // nothing here trusts a word a peer could have changed, and nothing loads the record's
        // header again (fewer values live in the caller's loop). Anything else (held records
        // behind it, a record libpsyne read, a second release) goes to libpsyne.
        byte* region = _region;
        ulong end = _inFlight.LastReadEnd;
        if (position != _inFlight.LastRead ||
            position != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET) ||
            end != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET))
            return false;
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET), end);
        EndPublish(PsyneNative.PSYNE_SEGMENT_WRITERS_WAITING_OFFSET, consumers: 0);
        return true;
    }

    // ---- spinning in managed code ------------------------------------------------------------
    //
    // Before a blocked call goes to libpsyne's wait (which spins, yields, then sleeps on a futex),
    // each side spins here with pauses that double up to MaxPauseRun. Polling the line the other
    // side is writing, once per record, made both sides hand cache lines back and forth in
    // lockstep: the per-message benchmark swung between 3.5 and 17 M msg/s from run to run, and
    // held ~17-24 M once each side let the other run ahead (before the entry points were
    // inlined). So a consumer that found the ring empty looks again only after a growing
    // pause, and a producer that found it full waits, within the same budget, until a quarter of
    // the ring is free, not until one record fits. Both give up to libpsyne early when the gate
    // closes. Under WaitPolicy.Spin, chosen for latency, the looks stay one pause apart (a growing
    // pause adds up to its length to every wake-up). See docs/architecture.md, "Backing off on an
    // empty or full ring".

    /// <summary>The longest run of CPU pauses between two looks at the other side's line (~1 µs on current x86).</summary>
    internal const int MaxPauseRun = 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pause(int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (System.Runtime.Intrinsics.X86.X86Base.IsSupported)
                System.Runtime.Intrinsics.X86.X86Base.Pause();
            else if (System.Runtime.Intrinsics.Arm.ArmBase.IsSupported)
                System.Runtime.Intrinsics.Arm.ArmBase.Yield();
            else
                Thread.SpinWait(1);
        }
    }

    /// <summary>
    /// Consumer side, in flight: spends up to <paramref name="pauses"/> CPU pauses waiting for the
    /// next header slot to be written. True: something is there (read it); false: still empty, the
    /// gate closed or the ring is not in the common case (call libpsyne).
    /// </summary>
    /// <param name="pauses">The budget, in CPU pauses.</param>
    /// <param name="maxRun">The longest run of pauses between two looks: 1 polls as tightly as libpsyne's spin (WaitPolicy.Spin, for latency).</param>
    /// <param name="deadline">Stopwatch timestamp at which to give up (long.MaxValue: none).</param>
    /// <param name="cancellationToken">Ends the spin when cancelled.</param>
    public bool SpinForRecord(int pauses, int maxRun, long deadline, CancellationToken cancellationToken)
    {
        if (!_fast)
            return false;
        byte* region = _region;
        ulong head = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET);
        if ((head & 7) != 0)
            return false;
        ulong* slot = (ulong*)(_data + (head & _mask));
        for (int spent = 0, run = 1, sinceCheck = 0; spent < pauses; spent += run, run = Math.Min(run * 2, maxRun))
        {
            Pause(run);
            if (Volatile.Read(ref *slot) != 0)
                return true;
            if (*(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0 || ShouldStopSpinning(ref sinceCheck, run, deadline, cancellationToken))
                return false;
        }
        return false;
    }

    /// <summary>
    /// True when a spin must end early: this handle is closing, or (looked at every ~1024 pauses)
    /// the caller's deadline passed or its token was cancelled. libpsyne's wait, which follows,
    /// raises the right error.
    /// </summary>
    private bool ShouldStopSpinning(ref int sinceCheck, int run, long deadline, CancellationToken cancellationToken)
    {
        if (_shut || (Volatile.Read(ref _gate) & GateClosing) != 0)
            return true;
        sinceCheck += run;
        if (sinceCheck < 1024)
            return false;
        sinceCheck = 0;
        return cancellationToken.IsCancellationRequested || System.Diagnostics.Stopwatch.GetTimestamp() >= deadline;
    }

    /// <summary>
    /// Producer side, in flight: spends up to <paramref name="pauses"/> CPU pauses waiting for room
    /// for <paramref name="size"/> bytes, preferring a quarter of the ring free. True: the record
    /// fits now (reserve again); false: still full, the gate closed or the ring is not in the
    /// common case (call libpsyne).
    /// </summary>
    /// <param name="size">Payload bytes.</param>
    /// <param name="alignment">Payload alignment, as for TryReserveFast.</param>
    /// <param name="pauses">The budget, in CPU pauses.</param>
    /// <param name="maxRun">As for <see cref="SpinForRecord"/>.</param>
    /// <param name="deadline">As for <see cref="SpinForRecord"/>.</param>
    /// <param name="cancellationToken">As for <see cref="SpinForRecord"/>.</param>
    public bool SpinForRoom(uint size, uint alignment, int pauses, int maxRun, long deadline, CancellationToken cancellationToken)
    {
        if (_shut || !TryPlace(size, alignment, out ulong tail, out ulong index, out _, out ulong span))
            return false;
        byte* region = _region;
        if ((tail & 7) != 0 || index + span > _capacity)
            return false; // the record wraps: libpsyne writes the padding
        ulong end = tail + span + PsyneNative.PSYNE_RECORD_HEADER_BYTES;
        ulong roomy = end + (_capacity >> 2);
        ulong last = _inFlight.CachedRelease;
        for (int spent = 0, run = 1, sinceCheck = 0; spent < pauses; spent += run, run = Math.Min(run * 2, maxRun))
        {
            Pause(run);
            if (*(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0 || ShouldStopSpinning(ref sinceCheck, run, deadline, cancellationToken))
                return false;
            ulong release = Volatile.Read(ref At(PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET)) & ~1UL;
            if ((release & 7) != 0 || release > tail || tail - release > _capacity)
                return false;
            // A consumer that released nothing since the last look may be holding records: take
            // whatever room there is rather than wait for a quarter that may never come.
            if (release + _capacity >= roomy || (release == last && release + _capacity >= end))
            {
                SetCachedRelease(release);
                return true;
            }
            last = release;
        }
        return false;
    }

    /// <summary>
    /// The publisher's half of the wake-up handshake (native/src/ipc/wait.h): after the publishing
    /// store, load the other side's sleeper count. Where this process is registered for membarrier
    /// the sleepers' barrier orders the two; RyuJIT does not move a volatile load above a volatile
    /// store, so no fence is needed. Otherwise a full fence first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WakeIfSleeping(int waitingOffset, int consumers)
    {
        if (_fence)
            Interlocked.MemoryBarrier();
        if (Volatile.Read(ref *(uint*)(_region + waitingOffset)) != 0)
            Wake(consumers);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Wake(int consumers) => PsyneNative.psyne_channel_wake(Ptr, consumers);

    /// <summary>
    /// Ends a fast commit (<paramref name="consumers"/> 1) or release (0): the wake-up handshake,
    /// then the end of the call. The wake-up, a call into libpsyne, is the last thing on its path,
    /// so the caller's values need not survive it in registers the caller's own loop wants.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndPublish(int waitingOffset, int consumers)
    {
        if (_wake)
        {
            if (_fence)
                Interlocked.MemoryBarrier();
            if (Volatile.Read(ref *(uint*)(_region + waitingOffset)) != 0)
            {
                WakeThenExit(consumers);
                return;
            }
        }
        GC.KeepAlive(this); // this core holds the ring's memory (RingMemory) until here
        ExitPublisherFast(consumers);
    }

    /// <summary>Wakes the sleepers of one side, then ends the fast call (EndPublish).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeThenExit(int consumers)
    {
        Wake(consumers);
        ExitPublisherFast(consumers);
    }

    /// <summary>Ends a fast call of the side that woke <paramref name="consumers"/> (1: the producer's commit, 0: the consumer's release).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExitPublisherFast(int consumers)
    {
        if (consumers != 0)
            ExitProducerFast();
        else
            ExitConsumerFast();
    }

    // ---- calls in flight ------------------------------------------------------------------
    //
    // The data-path entry points enter with Enter*Fast and leave their common case with
    // Exit*Fast. For an SPSC ring whose bytes this core owns (RingMemory), those only look
    // at the gate: the common case touches nothing but the ring, which outlives every call that
    // can reach it. Anything else (libpsyne, the spins, the waits) first calls Enter*Slow, which
    // then marks the call in flight for real, so CloseChannel waits for it before freeing the
    // native handle. Elsewhere Enter*Fast marks the call and Enter*Slow has nothing left to do.

    /// <summary>Enters a producer call's common case; false if the handle is closing (or, when <paramref name="reserving"/>, every inproc consumer left).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool EnterProducerFast(bool reserving)
    {
        if (!_unbracketed)
            return TryEnterProducer(reserving);
        int gate = Volatile.Read(ref _gate);
        return gate == 0 || (!reserving && (gate & GateClosing) == 0);
    }

    /// <summary>Leaves a producer call entered with <see cref="EnterProducerFast"/> that stayed in the common case.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitProducerFast()
    {
        if (!_unbracketed)
            ExitProducer();
    }

    /// <summary>A producer call entered with <see cref="EnterProducerFast"/> leaves the common case: in flight from here (leave with <see cref="ExitProducer"/>); false if the handle is closing.</summary>
    public bool EnterProducerSlow(bool reserving) => !_unbracketed || TryEnterProducer(reserving);

    /// <summary>As <see cref="EnterProducerFast"/>, for the consumer side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool EnterConsumerFast()
    {
        if (!_unbracketed)
            return TryEnterConsumer();
        return (Volatile.Read(ref _gate) & GateClosing) == 0;
    }

    /// <summary>As <see cref="ExitProducerFast"/>, for the consumer side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitConsumerFast()
    {
        if (!_unbracketed)
            ExitConsumer();
    }

    /// <summary>As <see cref="EnterProducerSlow"/>, for the consumer side. Calling it again inside a call already in flight is harmless (an SPSC side's mark is a flag).</summary>
    public bool EnterConsumerSlow() => !_unbracketed || TryEnterConsumer();

    /// <summary>Enters a producer call; false if the handle is closing (or, when <paramref name="reserving"/>, every inproc consumer left).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterProducer(bool reserving)
    {
        if (SingleProducer)
            Volatile.Write(ref _inFlight.Producer, 1);
        else
            Interlocked.Increment(ref _inFlight.Producer);
        int gate = Volatile.Read(ref _gate);
        if (gate == 0 || (!reserving && (gate & GateClosing) == 0))
            return true;
        ExitProducer();
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitProducer()
    {
        if (SingleProducer)
            Volatile.Write(ref _inFlight.Producer, 0);
        else
            Interlocked.Decrement(ref _inFlight.Producer);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterConsumer()
    {
        if (SingleConsumer)
            Volatile.Write(ref _inFlight.Consumer, 1);
        else
            Interlocked.Increment(ref _inFlight.Consumer);
        if ((Volatile.Read(ref _gate) & GateClosing) == 0)
            return true;
        ExitConsumer();
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitConsumer()
    {
        if (SingleConsumer)
            Volatile.Write(ref _inFlight.Consumer, 0);
        else
            Interlocked.Decrement(ref _inFlight.Consumer);
    }

    /// <summary>Enters a call that may come from any thread (stats, info, wake-ups).</summary>
    public bool TryEnterOther()
    {
        Interlocked.Increment(ref _inFlight.Other);
        if ((Volatile.Read(ref _gate) & GateClosing) == 0)
            return true;
        Interlocked.Decrement(ref _inFlight.Other);
        return false;
    }

    public void ExitOther() => Interlocked.Decrement(ref _inFlight.Other);

    // ---- slow-path operations -------------------------------------------------------------

    /// <summary>Wakes every call blocked in this handle (they see PSYNE_E_TIMEOUT and re-check). Quietly does nothing once closing.</summary>
    public void WakeAll()
    {
        if (!TryEnterOther())
            return;
        try
        {
            PsyneNative.psyne_channel_wake_all(Ptr);
        }
        finally
        {
            ExitOther();
        }
    }

    /// <summary>Ends the channel for writing (<c>psyne_channel_shutdown</c>); consumers drain, then see it closed.</summary>
    public void Shutdown()
    {
        _shut = true; // this handle's reserves now go to libpsyne, which refuses them
        EndLeanProducer();
        if (!TryEnterOther())
            return;
        try
        {
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_shutdown(Ptr));
        }
        finally
        {
            ExitOther();
        }
    }

    /// <summary>inproc: every consumer handle left; blocked and later reserves fail with <see cref="PsyneClosedException"/>.</summary>
    public void MarkNoConsumers()
    {
        Interlocked.Or(ref _gate, GateNoConsumers);
        EndLeanProducer();
        WakeAll();
    }

    /// <summary>
    /// Closes the native handle once no call is in flight: marks the gate, wakes blocked calls
    /// with <c>psyne_channel_shutdown</c>, waits for them to leave, then frees. Idempotent.
    /// </summary>
    public void CloseChannel()
    {
        if ((Interlocked.Or(ref _gate, GateClosing) & GateClosing) != 0)
            return;
        _shut = true;
        EndLeanPaths();
        // Pairs with the plain stores of single-threaded sides (see the class remarks).
        Interlocked.MemoryBarrierProcessWide();
        PsyneNative.psyne_channel_shutdown(Ptr);
        var spin = new SpinWait();
        long lastWake = Environment.TickCount64;
        while (Volatile.Read(ref _inFlight.Producer) != 0 || Volatile.Read(ref _inFlight.Consumer) != 0 ||
               Volatile.Read(ref _inFlight.Other) != 0)
        {
            spin.SpinOnce(sleep1Threshold: 30);
            // A call that began its wait after the shutdown's wake-up sees the gate at its next
            // check; wake it again now and then so that is soon.
            if (Environment.TickCount64 - lastWake > 10)
            {
                PsyneNative.psyne_channel_wake_all(Ptr);
                lastWake = Environment.TickCount64;
            }
        }
        Dispose();
    }

    protected override bool ReleaseHandle() =>
        PsyneNative.psyne_channel_close((psyne_channel*)handle) == psyne_status.PSYNE_OK;

    /// <summary>The in-flight words, each on its own 128-byte pair of cache lines.</summary>
    /// <remarks>The producer's line also holds its private state of the managed data path.</remarks>
    [StructLayout(LayoutKind.Explicit, Size = 512)]
    private struct InFlight
    {
        [FieldOffset(128)] public int Producer;
        [FieldOffset(136)] public ulong CachedRelease; // a release head seen before: never ahead of the real one
        [FieldOffset(144)] public ulong SettledEnd;    // 1 + the highest reservation committed or aborted (positions only grow)
        [FieldOffset(152)] public ulong LivenessAt;    // ipc: a reserve whose record ends past this goes to libpsyne (ulong.MaxValue: never)
        [FieldOffset(160)] public ulong LeanLimit;     // min(CachedRelease + capacity, LivenessAt): where the lean reserve stops
        [FieldOffset(256)] public int Consumer;
        [FieldOffset(264)] public ulong LastRead;      // the position of the record the last fast read took
        [FieldOffset(272)] public ulong LastReadEnd;   // the head that read left
        [FieldOffset(384)] public int Other;
    }
}
