using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// A zero-copy message channel: a ring of variable-size records in one memory region, the
/// process heap (<c>inproc://name</c>) or a shared-memory segment (<c>ipc://name</c>). A producer
/// reserves space, fills it in place and commits it; a consumer reads the committed record in
/// place and releases it. Nothing is copied on either transport.
/// </summary>
/// <remarks>
/// <para>Open one with <see cref="Open(string, ChannelOptions?, ChannelRole, ChannelOpenMode)"/>.
/// The data-path calls (<see cref="TryReserve"/>, <see cref="ChannelReservation.Commit(ushort)"/>,
/// <see cref="TryRead(out ChannelMessage)"/>, <see cref="ChannelMessage.Release"/>) allocate nothing,
/// never block, and cost a few loads and stores on the ring's cache lines plus one call into
/// libpsyne without a GC transition. Blocking calls first try once the same way, then wait per
/// the channel's <see cref="WaitPolicy"/>.</para>
/// <para>Threads: which calls may overlap follows <see cref="Kind"/> (one producer and one
/// consumer thread at a time for SPSC, and so on). <see cref="GetStatistics"/>, <see cref="State"/>,
/// <see cref="Complete"/> and <see cref="Dispose"/> may be called from any thread at any time;
/// Dispose wakes blocked calls, which then throw <see cref="ObjectDisposedException"/>.</para>
/// <para>A channel not disposed is closed by the finalizer of its native handle.</para>
/// </remarks>
public sealed unsafe partial class Channel : IDisposable
{
    private static readonly Action<object?> WakeCallback = static state => ((Channel)state!)._core.WakeAll();

    private readonly ChannelCore _core;
    private readonly psyne_channel* _ptr;
    private readonly bool _canProduce;
    private readonly bool _canConsume;
    private readonly bool _spinInManaged; // blocked calls spin in ChannelCore before libpsyne's wait
    private readonly int _maxPauseRun;
    private int _disposed;
    private int _notProducing; // 0 while this handle may produce and is not disposed: the lean paths' one look at this object
    private int _notConsuming;
    private byte[]? _sink;

    private Channel(ChannelCore core, ChannelRole role)
    {
        _core = core;
        _ptr = core.Ptr;
        psyne_channel_info info;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_info_get(_ptr, &info));
        Address = core.Address;
        Role = core.Address.Transport == ChannelTransport.Ipc ? (ChannelRole)info.role : role;
        _canProduce = (Role & ChannelRole.Producer) != 0;
        _canConsume = (Role & ChannelRole.Consumer) != 0;
        _notProducing = _canProduce ? 0 : 1;
        _notConsuming = _canConsume ? 0 : 1;
        Kind = (ChannelKind)info.kind;
        Capacity = (long)info.capacity;
        MaxPayload = (int)info.max_payload;
        FullPolicy = (FullPolicy)info.full_policy;
        WaitPolicy = (WaitPolicy)info.wait_policy;
        SpinCount = (int)info.spin_count;
        YieldCount = (int)info.yield_count;
        CreatorPid = info.creator_pid;
        _spinInManaged = core.Fast && SpinCount > 0;
        _maxPauseRun = WaitPolicy == WaitPolicy.Spin ? 1 : ChannelCore.MaxPauseRun;
    }

    // ---- opening ---------------------------------------------------------------------------

    /// <summary>
    /// Opens (or creates) the channel at <paramref name="uri"/>: <c>inproc://name</c> or <c>ipc://name</c>.
    /// Allocates the handle; creating allocates the ring (capacity + 4 KiB) on the heap or in
    /// <c>/dev/shm</c> (mode 0600, per-user name). Does not block, except on the segment's file lock
    /// while another process creates or opens it.
    /// </summary>
    /// <param name="uri"><c>inproc://name</c> (shared by every thread of this process that opens the name) or <c>ipc://name</c> (shared memory between processes).</param>
    /// <param name="options">Settings for a channel this call creates; for one that exists, the kind, capacity and policies must match (null: accept what exists).</param>
    /// <param name="role">The side(s) this handle takes. On ipc, liveness is judged per role: a consumer sees the channel closed once no producer is left, so give each process its true role.</param>
    /// <param name="mode">Whether the call may create, must create, or must open.</param>
    /// <exception cref="ArgumentException">A malformed URI or unknown scheme (the message says what is expected).</exception>
    /// <exception cref="PsyneUnsupportedException">A scheme of a transport that is planned but not provided yet (tcp://, unix://, ...).</exception>
    /// <exception cref="PsyneArgumentException">Bad options (capacity not a power of two, ...), options that disagree with the existing channel, or CreateNew on a name in use.</exception>
    /// <exception cref="PsyneNotFoundException">OpenExisting and no such channel.</exception>
    /// <exception cref="PsyneFormatException">ipc: the segment file is not a channel this library reads (wrong magic, layout version, checksum or sizes).</exception>
    /// <exception cref="PsyneFullException">ipc: the segment has all its attach slots taken, or the single producer/consumer side is taken by a live process.</exception>
    public static Channel Open(string uri, ChannelOptions? options = null, ChannelRole role = ChannelRole.Both,
                               ChannelOpenMode mode = ChannelOpenMode.OpenOrCreate) =>
        Open(ChannelAddress.Parse(uri), options, role, mode);

    /// <summary>Opens (or creates) the channel at <paramref name="address"/>; see <see cref="Open(string, ChannelOptions?, ChannelRole, ChannelOpenMode)"/>.</summary>
    public static Channel Open(ChannelAddress address, ChannelOptions? options = null, ChannelRole role = ChannelRole.Both,
                               ChannelOpenMode mode = ChannelOpenMode.OpenOrCreate)
    {
        if (address.Name is null)
            throw new ArgumentException("The address is empty (default); parse one with ChannelAddress.Parse.", nameof(address));
        if (role is not (ChannelRole.Producer or ChannelRole.Consumer or ChannelRole.Both))
            throw new ArgumentOutOfRangeException(nameof(role), role, "Expected Producer, Consumer or Both.");
        if (mode is not (ChannelOpenMode.OpenOrCreate or ChannelOpenMode.CreateNew or ChannelOpenMode.OpenExisting))
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Expected OpenOrCreate, CreateNew or OpenExisting.");
        NativeRuntime.EnsureInitialized();
        if (address.Transport == ChannelTransport.InProcess)
        {
            ChannelCore shared = InprocRegistry.Acquire(address, options, role, mode);
            try
            {
                return new Channel(shared, role);
            }
            catch
            {
                InprocRegistry.Release(shared, role);
                throw;
            }
        }
        ChannelCore core = OpenIpc(address, options, role, mode);
        try
        {
            if (options is not null && mode != ChannelOpenMode.CreateNew)
                CheckCompatible(core, options);
            return new Channel(core, role);
        }
        catch
        {
            core.CloseChannel();
            throw;
        }
    }

    /// <summary>Creates the channel; an error if it exists. See <see cref="Open(string, ChannelOptions?, ChannelRole, ChannelOpenMode)"/>.</summary>
    public static Channel Create(string uri, ChannelOptions? options = null, ChannelRole role = ChannelRole.Both) =>
        Open(uri, options, role, ChannelOpenMode.CreateNew);

    /// <summary>Opens an existing channel; <see cref="PsyneNotFoundException"/> if there is none. See <see cref="Open(string, ChannelOptions?, ChannelRole, ChannelOpenMode)"/>.</summary>
    public static Channel OpenExisting(string uri, ChannelRole role = ChannelRole.Both) =>
        Open(uri, null, role, ChannelOpenMode.OpenExisting);

    private static ChannelCore OpenIpc(ChannelAddress address, ChannelOptions? options, ChannelRole role, ChannelOpenMode mode)
    {
        byte* name = stackalloc byte[ChannelAddress.MaxNameLength + 1];
        WriteName(address, name);
        psyne_channel_options native = (options ?? ChannelOptions.Default).ToNative();
        psyne_channel* channel;
        if (mode == ChannelOpenMode.CreateNew)
        {
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_create_ipc(name, &native, (int)role, &channel));
            return ChannelCore.Adopt(address, channel);
        }
        if (mode == ChannelOpenMode.OpenExisting)
        {
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_open_ipc(name, (int)role, &channel));
            return ChannelCore.Adopt(address, channel);
        }
        // Open or create, racing other processes that do the same: open; if there is none,
        // create; if another process created it meanwhile, open again.
        PsyneException? createError = null;
        for (int attempt = 0; attempt < 4; attempt++)
        {
            psyne_status s = PsyneNative.psyne_channel_open_ipc(name, (int)role, &channel);
            if (s == psyne_status.PSYNE_OK)
                return ChannelCore.Adopt(address, channel);
            if (s != psyne_status.PSYNE_E_NOT_FOUND)
                NativeStatus.Throw(s);
            s = PsyneNative.psyne_channel_create_ipc(name, &native, (int)role, &channel);
            if (s == psyne_status.PSYNE_OK)
                return ChannelCore.Adopt(address, channel);
            if (s != psyne_status.PSYNE_E_INVALID_ARGUMENT)
                NativeStatus.Throw(s);
            createError = NativeStatus.Create(s, NativeStatus.LastErrorMessage());
        }
        throw createError!;
    }

    private static void WriteName(ChannelAddress address, byte* destination)
    {
        // Names are ASCII by construction (ChannelAddress checks them).
        int n = Encoding.ASCII.GetBytes(address.Name, new Span<byte>(destination, ChannelAddress.MaxNameLength));
        destination[n] = 0;
    }

    internal static void CheckCompatible(ChannelCore core, ChannelOptions options)
    {
        psyne_channel_info info;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_info_get(core.Ptr, &info));
        var kind = (ChannelKind)info.kind;
        var full = (FullPolicy)info.full_policy;
        var wait = (WaitPolicy)info.wait_policy;
        if (kind != options.Kind || (long)info.capacity != options.Capacity || full != options.FullPolicy || wait != options.WaitPolicy)
        {
            throw new PsyneArgumentException(
                $"{core.Uri} exists as {kind}, capacity {info.capacity} bytes, FullPolicy.{full}, WaitPolicy.{wait}; " +
                $"the options ask for {options.Kind}, capacity {options.Capacity} bytes, FullPolicy.{options.FullPolicy}, WaitPolicy.{options.WaitPolicy}. " +
                "Open it without options to accept what exists, or use another name.");
        }
    }

    // ---- what it is ------------------------------------------------------------------------

    /// <summary>The address this handle was opened with.</summary>
    public ChannelAddress Address { get; }

    /// <summary>The URI (<c>inproc://name</c> or <c>ipc://name</c>). Allocates a string.</summary>
    public string Uri => _core.Uri;

    /// <summary>The transport: <see cref="ChannelTransport.InProcess"/> or <see cref="ChannelTransport.Ipc"/>. Both make no copies.</summary>
    public ChannelTransport Transport => Address.Transport;

    /// <summary>The side(s) this handle takes.</summary>
    public ChannelRole Role { get; }

    /// <summary>Who may write and read at once.</summary>
    public ChannelKind Kind { get; }

    /// <summary>Bytes of ring data.</summary>
    public long Capacity { get; }

    /// <summary>The largest payload with the default 8-byte alignment: <c>Capacity - 16</c>. See <see cref="MaxPayloadFor"/>.</summary>
    public int MaxPayload { get; }

    /// <summary>What a producer gets when the ring is full.</summary>
    public FullPolicy FullPolicy { get; }

    /// <summary>What blocked calls do while they wait.</summary>
    public WaitPolicy WaitPolicy { get; }

    /// <summary>Polls before yielding.</summary>
    public int SpinCount { get; }

    /// <summary>Yields before sleeping.</summary>
    public int YieldCount { get; }

    /// <summary>The process that created the channel.</summary>
    public int CreatorPid { get; }

    /// <summary>The largest payload a record with payload alignment <paramref name="alignment"/> may have: <c>Capacity - 16 - (alignment - 8)</c>.</summary>
    public int MaxPayloadFor(int alignment)
    {
        if (alignment < 8)
            alignment = 8;
        return (int)Math.Min(int.MaxValue, Capacity - 2 * PsyneNative.PSYNE_RECORD_HEADER_BYTES - (alignment - 8));
    }

    /// <summary>Whether the channel is open, closed, or faulted by a dead peer or a corrupt ring. A native call; allocates nothing.</summary>
    public ChannelState State => (ChannelState)Info().state;

    /// <summary>When <see cref="State"/> is <see cref="ChannelState.Faulted"/> by a dead process: its pid; else null.</summary>
    public int? FaultPid => Info().fault_pid is var pid and not 0 ? pid : null;

    /// <summary>ipc: handles attached to the segment now, across every process; inproc: 1.</summary>
    public int AttachedHandles => (int)Info().attached;

    /// <summary>A snapshot of the channel's counters (shared by every handle; for ipc, every process). A native call of a few atomic loads; allocates nothing.</summary>
    public ChannelStatistics GetStatistics()
    {
        ThrowIfDisposed();
        if (!_core.TryEnterOther())
            ThrowGate(producer: false);
        psyne_channel_stats s;
        psyne_status status;
        try
        {
            status = PsyneNative.psyne_channel_stats_get(_ptr, &s);
        }
        finally
        {
            _core.ExitOther();
        }
        NativeStatus.ThrowIfFailed(status);
        return new ChannelStatistics((long)s.messages_written, (long)s.bytes_written, (long)s.messages_read, (long)s.bytes_read,
            (long)s.drops, (long)s.rejects, (long)s.producer_stalls, (long)s.consumer_stalls, (long)s.used_bytes, (long)s.capacity);
    }

    private psyne_channel_info Info()
    {
        ThrowIfDisposed();
        if (!_core.TryEnterOther())
            ThrowGate(producer: false);
        psyne_channel_info info;
        psyne_status status;
        try
        {
            status = PsyneNative.psyne_channel_info_get(_ptr, &info);
        }
        finally
        {
            _core.ExitOther();
        }
        NativeStatus.ThrowIfFailed(status);
        return info;
    }

    // ---- ending ----------------------------------------------------------------------------

    /// <summary>
    /// Ends the channel for writing: reserves fail with <see cref="PsyneClosedException"/>, consumers
    /// read what was committed, then get <see cref="PsyneClosedException"/>. inproc: for every user
    /// of the ring; ipc: for this handle's role (a consumer-only handle: producers see the channel
    /// closed once no consumer is left). Wakes blocked calls. Thread-safe, idempotent, does not block.
    /// </summary>
    public void Complete()
    {
        ThrowIfDisposed();
        _core.Shutdown();
    }

    /// <summary>
    /// Closes this handle. inproc: the ring is freed when the last handle over it closes; the last
    /// producer's close ends it for writing, the last consumer's makes reserves fail. ipc: this
    /// process detaches (its role ends, peers are told) and the segment is removed when its last
    /// handle closes. Calls blocked in this handle wake and throw <see cref="ObjectDisposedException"/>.
    /// May wait for calls in flight on other threads to return; idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Volatile.Write(ref _notProducing, 1);
        Volatile.Write(ref _notConsuming, 1);
        if (Transport == ChannelTransport.InProcess)
        {
            _core.WakeAll(); // callers blocked in this object re-check and see it disposed
            InprocRegistry.Release(_core, Role);
        }
        else
        {
            _core.CloseChannel();
        }
    }

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The native handle's owner (tests drive libpsyne's calls on it directly).</summary>
    internal ChannelCore Core => _core;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ThrowIfDisposed()
    {
        if (_disposed != 0)
            ThrowDisposed();
    }

    [DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(Channel), $"The channel {Uri} was disposed.");

    /// <summary>Why the core refused a call: this object or every object over the ring was disposed, or (producers) every inproc consumer left.</summary>
    [DoesNotReturn]
    private void ThrowGate(bool producer)
    {
        if (IsDisposed || _core.IsClosing)
            ThrowDisposed();
        if (producer && (_core.Gate & ChannelCore.GateNoConsumers) != 0)
            throw new PsyneClosedException($"channel {Uri}: every consumer closed the channel, so nothing written now would be read.");
        throw new InvalidOperationException($"channel {Uri}: refused a call in an unexpected state ({_core.Gate}).");
    }

    [DoesNotReturn]
    private void ThrowRole(string what) =>
        throw new InvalidOperationException($"channel {Uri} was opened as {Role}: it cannot {what}. Open it with ChannelRole.{(what.StartsWith("read", StringComparison.Ordinal) ? "Consumer" : "Producer")} or Both.");

    // ---- waiting ---------------------------------------------------------------------------

    /// <summary>The longest single native wait of a cancellable call, a backstop for a cancellation that races the wait's start.</summary>
    private const ulong CancellableSliceNs = 100_000_000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            ThrowTimeout(timeout);
    }

    [DoesNotReturn]
    private static void ThrowTimeout(TimeSpan timeout) =>
        throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or Timeout.InfiniteTimeSpan.");

    private static long Deadline(TimeSpan timeout, string paramName)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
            return long.MaxValue;
        if (timeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(paramName, timeout, "The timeout must be non-negative or Timeout.InfiniteTimeSpan.");
        long ticks = (long)Math.Min(timeout.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 2);
        return Stopwatch.GetTimestamp() + ticks;
    }

    private static ulong WaitNs(long deadline, bool sliced)
    {
        ulong ns;
        if (deadline == long.MaxValue)
        {
            ns = ulong.MaxValue;
        }
        else
        {
            long left = deadline - Stopwatch.GetTimestamp();
            ns = left <= 0 ? 0 : (ulong)(left * (1e9 / Stopwatch.Frequency));
        }
        return sliced ? Math.Min(ns, CancellableSliceNs) : ns;
    }

    private CancellationTokenRegistration RegisterWake(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(WakeCallback, this) : default;

    private static string Describe(TimeSpan timeout) =>
        timeout.TotalMilliseconds < 1 ? $"{timeout.TotalMicroseconds:F0} µs" : $"{timeout.TotalMilliseconds:F0} ms";

    // ---- ipc segments ----------------------------------------------------------------------

    /// <summary>
    /// Removes the shared segment of <c>ipc://name</c>, whatever it holds, so that the name can be
    /// created afresh; processes still attached keep their mapping. For a segment a crashed
    /// process left behind (opening one whose processes all died already replaces it). One system call.
    /// </summary>
    /// <returns>True if a segment was removed, false if there was none.</returns>
    public static bool DeleteSegment(string uri)
    {
        ChannelAddress address = ParseIpc(uri);
        NativeRuntime.EnsureInitialized();
        byte* name = stackalloc byte[ChannelAddress.MaxNameLength + 1];
        WriteName(address, name);
        psyne_status s = PsyneNative.psyne_ipc_unlink(name);
        if (s == psyne_status.PSYNE_E_NOT_FOUND)
            return false;
        NativeStatus.ThrowIfFailed(s);
        return true;
    }

    /// <summary>The file system path of <c>ipc://name</c>'s segment (Linux: <c>/dev/shm/psyne-&lt;uid&gt;-&lt;name&gt;</c>), for tools and tests. Allocates the string.</summary>
    public static string GetSegmentPath(string uri)
    {
        ChannelAddress address = ParseIpc(uri);
        NativeRuntime.EnsureInitialized();
        byte* name = stackalloc byte[ChannelAddress.MaxNameLength + 1];
        WriteName(address, name);
        byte* path = stackalloc byte[512];
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_ipc_segment_path(name, path, 512));
        return new string((sbyte*)path);
    }

    private static ChannelAddress ParseIpc(string uri)
    {
        ChannelAddress address = ChannelAddress.Parse(uri);
        if (address.Transport != ChannelTransport.Ipc)
            throw new ArgumentException($"'{uri}' is not an ipc:// address; only ipc channels have segments.", nameof(uri));
        return address;
    }

    /// <summary>The URI.</summary>
    public override string ToString() => Uri;
}
