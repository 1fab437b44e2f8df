using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Psyne.Benchmarks.Peers;

// The real libzmq (libzmq.so.5) as a peer for Psyne's ZeroMQ-compatible sockets: the
// benchmarks measure against it and the tests check interoperability with it. Linked into
// Psyne.Benchmarks, Psyne.Cli and Psyne.Tests; every type here is internal so the copies
// never clash.
//
// The library is found by name ("libzmq.so.5", the soname Debian's libzmq5 installs) through
// the system loader. LibZmq.IsAvailable tries it first with NativeLibrary.TryLoad, so a machine
// without libzmq gets a reason string, and ZmqContext/ZmqSocket refuse to start with that
// reason instead of failing inside a P/Invoke with a bare DllNotFoundException.

/// <summary>The socket types of zmq.h (ZMQ_PAIR ... ZMQ_XSUB).</summary>
internal enum ZmqSocketType
{
    Pair = 0,
    Pub = 1,
    Sub = 2,
    Req = 3,
    Rep = 4,
    Dealer = 5,
    Router = 6,
    Pull = 7,
    Push = 8,
    XPub = 9,
    XSub = 10,
}

/// <summary>Socket monitor events (ZMQ_EVENT_*).</summary>
[Flags]
internal enum ZmqEvent
{
    Connected = 0x0001,
    ConnectDelayed = 0x0002,
    ConnectRetried = 0x0004,
    Listening = 0x0008,
    BindFailed = 0x0010,
    Accepted = 0x0020,
    AcceptFailed = 0x0040,
    Closed = 0x0080,
    CloseFailed = 0x0100,
    Disconnected = 0x0200,
    MonitorStopped = 0x0400,
    HandshakeFailedNoDetail = 0x0800,
    HandshakeSucceeded = 0x1000,
    HandshakeFailedProtocol = 0x2000,
    HandshakeFailedAuth = 0x4000,
    All = 0xFFFF,
}

/// <summary>A libzmq call that failed: <see cref="Errno"/> and libzmq's own text for it (zmq_strerror).</summary>
internal sealed class ZmqException : Exception
{
    public ZmqException(string operation, int errno)
        : base($"{operation}: {LibZmq.StrError(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
    }

    public ZmqException(string message) : base(message)
    {
        Operation = "";
    }

    public string Operation { get; }

    public int Errno { get; }

    /// <summary>The context was shut down or terminated (ETERM): a background loop's cue to close its socket and return.</summary>
    public bool IsTerminated => Errno == LibZmq.ETERM;
}

/// <summary>A zmq_msg_t: 64 opaque bytes, pointer aligned. Always lives in native memory (see <see cref="ZmqSocket"/>).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
internal unsafe struct ZmqMsg
{
    private fixed long _opaque[8];
}

/// <summary>A zmq_pollitem_t on a POSIX system (the fd is an int).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ZmqPollItem
{
    public nint Socket;
    public int Fd;
    public short Events;
    public short Revents;
}

/// <summary>The libzmq C API, the few calls the peers need, and whether the library is there at all.</summary>
internal static unsafe partial class LibZmq
{
    public const string LibraryName = "libzmq.so.5";

    // errno values libzmq reports on Linux, and its own.
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EINVAL = 22;
    public const int EHOSTUNREACH = 113;
    public const int ZMQ_HAUSNUMERO = 156384712;
    public const int EFSM = ZMQ_HAUSNUMERO + 51;
    public const int ENOCOMPATPROTO = ZMQ_HAUSNUMERO + 52;
    public const int ETERM = ZMQ_HAUSNUMERO + 53;
    public const int EMTHREAD = ZMQ_HAUSNUMERO + 54;

    // Context options.
    public const int ZMQ_IO_THREADS = 1;
    public const int ZMQ_MAX_SOCKETS = 2;

    // Send/receive flags and poll events.
    public const int ZMQ_DONTWAIT = 1;
    public const int ZMQ_SNDMORE = 2;
    public const short ZMQ_POLLIN = 1;
    public const short ZMQ_POLLOUT = 2;

    // Socket options.
    public const int ZMQ_ROUTING_ID = 5;
    public const int ZMQ_SUBSCRIBE = 6;
    public const int ZMQ_UNSUBSCRIBE = 7;
    public const int ZMQ_SNDBUF = 11;
    public const int ZMQ_RCVBUF = 12;
    public const int ZMQ_RCVMORE = 13;
    public const int ZMQ_FD = 14;
    public const int ZMQ_EVENTS = 15;
    public const int ZMQ_TYPE = 16;
    public const int ZMQ_LINGER = 17;
    public const int ZMQ_RECONNECT_IVL = 18;
    public const int ZMQ_RECONNECT_IVL_MAX = 21;
    public const int ZMQ_MAXMSGSIZE = 22;
    public const int ZMQ_SNDHWM = 23;
    public const int ZMQ_RCVHWM = 24;
    public const int ZMQ_RCVTIMEO = 27;
    public const int ZMQ_SNDTIMEO = 28;
    public const int ZMQ_LAST_ENDPOINT = 32;
    public const int ZMQ_ROUTER_MANDATORY = 33;
    public const int ZMQ_IMMEDIATE = 39;
    public const int ZMQ_XPUB_VERBOSE = 40;
    public const int ZMQ_MECHANISM = 43;
    public const int ZMQ_PLAIN_SERVER = 44;
    public const int ZMQ_PLAIN_USERNAME = 45;
    public const int ZMQ_PLAIN_PASSWORD = 46;
    public const int ZMQ_REQ_CORRELATE = 52;
    public const int ZMQ_REQ_RELAXED = 53;
    public const int ZMQ_CONFLATE = 54;
    public const int ZMQ_ZAP_DOMAIN = 55;
    public const int ZMQ_ROUTER_HANDOVER = 56;
    public const int ZMQ_HANDSHAKE_IVL = 66;
    public const int ZMQ_HEARTBEAT_IVL = 75;
    public const int ZMQ_HEARTBEAT_TTL = 76;
    public const int ZMQ_HEARTBEAT_TIMEOUT = 77;
    public const int ZMQ_CONNECT_TIMEOUT = 79;

    private static readonly Lazy<string?> Probe = new(() =>
    {
        try
        {
            if (!NativeLibrary.TryLoad(LibraryName, out nint handle))
                return $"{LibraryName} not found by the system loader (Debian/Ubuntu: apt-get install libzmq5)";
            // The handle stays loaded: the P/Invokes below resolve the same library by name.
            return NativeLibrary.TryGetExport(handle, "zmq_msg_recv", out _) ? null : $"{LibraryName} has no zmq_msg_recv: not a libzmq 3+ build";
        }
        catch (Exception e)
        {
            return $"{LibraryName} could not be loaded: {e.Message}";
        }
    });

    /// <summary>Whether libzmq.so.5 loads on this machine.</summary>
    public static bool IsAvailable => Probe.Value is null;

    /// <summary>Why libzmq is not available; null when it is.</summary>
    public static string? UnavailableReason => Probe.Value;

    /// <summary>Throws a <see cref="DllNotFoundException"/> with the reason when libzmq is not available.</summary>
    public static void EnsureAvailable()
    {
        if (Probe.Value is { } reason)
            throw new DllNotFoundException(reason);
    }

    /// <summary>The libzmq version (zmq_version); requires <see cref="IsAvailable"/>.</summary>
    public static Version Version
    {
        get
        {
            EnsureAvailable();
            int major, minor, patch;
            zmq_version(&major, &minor, &patch);
            return new Version(major, minor, patch);
        }
    }

    /// <summary>zmq_strerror's text for an errno.</summary>
    public static string StrError(int errno)
    {
        if (!IsAvailable)
            return $"errno {errno}";
        byte* text = zmq_strerror(errno);
        return text is null ? $"errno {errno}" : Marshal.PtrToStringUTF8((nint)text) ?? "";
    }

    /// <summary>The errno of the libzmq call that just failed on this thread (captured by the P/Invoke marshaller).</summary>
    public static int LastError => Marshal.GetLastPInvokeError();

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial nint zmq_ctx_new();

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_ctx_term(nint context);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_ctx_shutdown(nint context);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_ctx_set(nint context, int option, int value);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial nint zmq_socket(nint context, int type);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_close(nint socket);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int zmq_bind(nint socket, string endpoint);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int zmq_connect(nint socket, string endpoint);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int zmq_unbind(nint socket, string endpoint);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int zmq_disconnect(nint socket, string endpoint);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_setsockopt(nint socket, int option, void* value, nuint size);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_getsockopt(nint socket, int option, void* value, nuint* size);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_send(nint socket, void* buffer, nuint length, int flags);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_recv(nint socket, void* buffer, nuint length, int flags);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_msg_init(ZmqMsg* message);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_msg_recv(ZmqMsg* message, nint socket, int flags);

    [LibraryImport(LibraryName)]
    public static partial void* zmq_msg_data(ZmqMsg* message);

    [LibraryImport(LibraryName)]
    public static partial nuint zmq_msg_size(ZmqMsg* message);

    [LibraryImport(LibraryName)]
    public static partial int zmq_msg_more(ZmqMsg* message);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_msg_close(ZmqMsg* message);

    [LibraryImport(LibraryName, SetLastError = true)]
    public static partial int zmq_poll(ZmqPollItem* items, int count, long timeoutMs);

    [LibraryImport(LibraryName, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int zmq_socket_monitor(nint socket, string? endpoint, int events);

    [LibraryImport(LibraryName)]
    public static partial int zmq_errno();

    [LibraryImport(LibraryName)]
    public static partial byte* zmq_strerror(int errno);

    [LibraryImport(LibraryName)]
    public static partial void zmq_version(int* major, int* minor, int* patch);
}

/// <summary>Between Psyne's addresses and libzmq's endpoints.</summary>
internal static class ZmqEndpoint
{
    /// <summary>
    /// A Psyne URI as libzmq writes it: <c>unix:///path</c> is libzmq's <c>ipc:///path</c> (a Unix
    /// stream socket); <c>tcp://</c> is the same, with port 0 (any free port) written <c>*</c>. Psyne's
    /// <c>ipc://</c> (shared memory) and <c>inproc://</c> have no libzmq counterpart and are refused.
    /// </summary>
    public static string ToLibZmq(string psyneUri)
    {
        ArgumentNullException.ThrowIfNull(psyneUri);
        if (psyneUri.StartsWith("unix://", StringComparison.OrdinalIgnoreCase))
            return "ipc://" + psyneUri["unix://".Length..];
        if (psyneUri.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
            return psyneUri.EndsWith(":0", StringComparison.Ordinal) ? psyneUri[..^1] + "*" : psyneUri;
        if (psyneUri.StartsWith("ipc://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{psyneUri}' is a Psyne shared-memory channel; libzmq's ipc:// is Psyne's unix:///path", nameof(psyneUri));
        throw new ArgumentException($"'{psyneUri}' has no libzmq form: use tcp://host:port or unix:///path", nameof(psyneUri));
    }

    /// <summary>A libzmq endpoint (tcp://, ipc://) as a Psyne URI (tcp://, unix://).</summary>
    public static string FromLibZmq(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.StartsWith("ipc://", StringComparison.OrdinalIgnoreCase))
            return "unix://" + endpoint["ipc://".Length..];
        if (endpoint.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
            return endpoint;
        throw new ArgumentException($"'{endpoint}' has no Psyne form: use tcp:// or ipc://", nameof(endpoint));
    }
}

/// <summary>A libzmq context (zmq_ctx_new). Dispose terminates it, which waits for every socket of it to be closed.</summary>
internal sealed class ZmqContext : IDisposable
{
    private nint _handle;

    public ZmqContext(int ioThreads = 1)
    {
        LibZmq.EnsureAvailable();
        _handle = LibZmq.zmq_ctx_new();
        if (_handle == 0)
            throw new ZmqException("zmq_ctx_new", LibZmq.LastError);
        if (ioThreads != 1 && LibZmq.zmq_ctx_set(_handle, LibZmq.ZMQ_IO_THREADS, ioThreads) != 0)
            throw new ZmqException("zmq_ctx_set(ZMQ_IO_THREADS)", LibZmq.LastError);
    }

    public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(ZmqContext));

    public ZmqSocket Socket(ZmqSocketType type) => new(this, type);

    /// <summary>zmq_ctx_shutdown: every blocking call on this context's sockets returns ETERM (<see cref="ZmqException.IsTerminated"/>) now; the sockets still need closing.</summary>
    public void Shutdown()
    {
        if (_handle != 0)
            LibZmq.zmq_ctx_shutdown(_handle);
    }

    public void Dispose()
    {
        nint handle = _handle;
        if (handle == 0)
            return;
        _handle = 0;
        while (LibZmq.zmq_ctx_term(handle) != 0 && LibZmq.LastError == LibZmq.EINTR)
        {
        }
    }
}

/// <summary>
/// One libzmq socket. Like libzmq's own, not thread-safe: one thread uses it at a time (a socket
/// may move to another thread, e.g. one started after it was bound). Send and Receive into spans
/// allocate nothing. New sockets get a linger of 2 s (libzmq's default, forever, would make a
/// context's Dispose hang on a peer that went away).
/// </summary>
internal sealed unsafe class ZmqSocket : IDisposable
{
    private readonly ZmqContext _context;
    private nint _handle;
    private ZmqMsg* _message; // native memory: a zmq_msg_t must not move while libzmq holds it

    public ZmqSocket(ZmqContext context, ZmqSocketType type)
    {
        _context = context;
        Type = type;
        _handle = LibZmq.zmq_socket(context.Handle, (int)type);
        if (_handle == 0)
            throw new ZmqException($"zmq_socket({type})", LibZmq.LastError);
        _message = (ZmqMsg*)NativeMemory.AlignedAlloc((nuint)sizeof(ZmqMsg), 64);
        LibZmq.zmq_msg_init(_message);
        Linger = 2000;
    }

    public ZmqSocketType Type { get; }

    public ZmqContext Context => _context;

    public nint Handle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(ZmqSocket));

    // ---- endpoints -------------------------------------------------------------------------

    /// <summary>Binds, and returns the endpoint bound (ZMQ_LAST_ENDPOINT), so <c>tcp://127.0.0.1:*</c> gives the port chosen.</summary>
    public string Bind(string endpoint)
    {
        Check(LibZmq.zmq_bind(Handle, endpoint), $"zmq_bind({endpoint})");
        return LastEndpoint;
    }

    public void Connect(string endpoint) => Check(LibZmq.zmq_connect(Handle, endpoint), $"zmq_connect({endpoint})");

    public void Unbind(string endpoint) => Check(LibZmq.zmq_unbind(Handle, endpoint), $"zmq_unbind({endpoint})");

    public void Disconnect(string endpoint) => Check(LibZmq.zmq_disconnect(Handle, endpoint), $"zmq_disconnect({endpoint})");

    // ---- sending ---------------------------------------------------------------------------

    /// <summary>
    /// Sends one frame (zmq_send; libzmq copies it). Returns false when it would block: with
    /// <paramref name="dontWait"/>, or when <see cref="SndTimeo"/> ran out. Other failures throw.
    /// </summary>
    public bool Send(ReadOnlySpan<byte> frame, bool more = false, bool dontWait = false)
    {
        nint socket = Handle;
        int flags = (more ? LibZmq.ZMQ_SNDMORE : 0) | (dontWait ? LibZmq.ZMQ_DONTWAIT : 0);
        byte empty = 0;
        fixed (byte* pinned = frame)
        {
            byte* data = frame.IsEmpty ? &empty : pinned;
            while (true)
            {
                if (LibZmq.zmq_send(socket, data, (nuint)frame.Length, flags) >= 0)
                    return true;
                int errno = LibZmq.LastError;
                if (errno == LibZmq.EAGAIN)
                    return false;
                if (errno != LibZmq.EINTR)
                    throw new ZmqException($"zmq_send on {Type}", errno);
            }
        }
    }

    /// <summary>Sends every frame as one message; throws <see cref="TimeoutException"/> if <see cref="SndTimeo"/> runs out.</summary>
    public void SendMultipart(params byte[][] frames)
    {
        if (frames.Length == 0)
            throw new ArgumentException("A message has at least one frame.", nameof(frames));
        for (int i = 0; i < frames.Length; i++)
        {
            if (!Send(frames[i], more: i < frames.Length - 1))
                throw new TimeoutException($"{Type}: sending frame {i} timed out (SndTimeo {SndTimeo} ms)");
        }
    }

    // ---- receiving -------------------------------------------------------------------------

    /// <summary>
    /// Receives one frame into <paramref name="buffer"/> and returns its length; throws
    /// <see cref="TimeoutException"/> when <see cref="RcvTimeo"/> runs out and <see cref="ZmqException"/>
    /// when the frame is larger than the buffer (the frame is consumed).
    /// </summary>
    public int Receive(Span<byte> buffer, out bool more)
    {
        if (!TryReceive(buffer, out int length, out more))
            throw new TimeoutException($"{Type}: nothing received within RcvTimeo ({RcvTimeo} ms)");
        return length;
    }

    /// <summary>As <see cref="Receive(Span{byte}, out bool)"/> without asking whether more frames follow: one libzmq call (zmq_recv).</summary>
    public int Receive(Span<byte> buffer)
    {
        if (!TryReceive(buffer, out int length))
            throw new TimeoutException($"{Type}: nothing received within RcvTimeo ({RcvTimeo} ms)");
        return length;
    }

    /// <summary>As <see cref="Receive(Span{byte}, out bool)"/>, but false instead of a timeout (or, with <paramref name="dontWait"/>, when nothing is waiting).</summary>
    public bool TryReceive(Span<byte> buffer, out int length, out bool more, bool dontWait = false)
    {
        if (!TryReceive(buffer, out length, dontWait))
        {
            more = false;
            return false;
        }
        more = RcvMore;
        return true;
    }

    /// <summary>One zmq_recv into <paramref name="buffer"/>: false when nothing came within <see cref="RcvTimeo"/> (or at once, with <paramref name="dontWait"/>).</summary>
    public bool TryReceive(Span<byte> buffer, out int length, bool dontWait = false)
    {
        nint socket = Handle;
        int flags = dontWait ? LibZmq.ZMQ_DONTWAIT : 0;
        byte empty = 0;
        fixed (byte* pinned = buffer)
        {
            byte* data = buffer.IsEmpty ? &empty : pinned;
            while (true)
            {
                int size = LibZmq.zmq_recv(socket, data, (nuint)buffer.Length, flags);
                if (size >= 0)
                {
                    if (size > buffer.Length) // libzmq truncated it and says how long it was
                        throw new ZmqException($"{Type}: received a frame of {size} bytes into a buffer of {buffer.Length} bytes");
                    length = size;
                    return true;
                }
                int errno = LibZmq.LastError;
                if (errno == LibZmq.EAGAIN)
                {
                    length = 0;
                    return false;
                }
                if (errno != LibZmq.EINTR) // signals (the runtime's GC suspension among them) interrupt a blocking call
                    throw new ZmqException($"zmq_recv on {Type}", errno);
            }
        }
    }

    /// <summary>Receives one frame as a new array; throws <see cref="TimeoutException"/> when <see cref="RcvTimeo"/> runs out.</summary>
    public byte[] ReceiveFrame(out bool more) =>
        TryReceiveFrame(out byte[]? frame, out more) ? frame! : throw new TimeoutException($"{Type}: nothing received within RcvTimeo ({RcvTimeo} ms)");

    public byte[] ReceiveFrame() => ReceiveFrame(out _);

    public bool TryReceiveFrame(out byte[]? frame, out bool more, bool dontWait = false)
    {
        if (!ReceiveMessage(dontWait ? LibZmq.ZMQ_DONTWAIT : 0))
        {
            frame = null;
            more = false;
            return false;
        }
        more = LibZmq.zmq_msg_more(_message) != 0;
        frame = new ReadOnlySpan<byte>(LibZmq.zmq_msg_data(_message), (int)LibZmq.zmq_msg_size(_message)).ToArray();
        ReleaseMessage();
        return true;
    }

    /// <summary>Every frame of the next message; null if none arrives within <paramref name="timeout"/> (zmq_poll; <see cref="RcvTimeo"/> does not apply).</summary>
    public List<byte[]>? ReceiveMultipart(TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        byte[]? first;
        bool more;
        for (bool firstTry = true; ; firstTry = false)
        {
            TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? timeout : Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
            {
                if (!firstTry)
                    return null;
                left = TimeSpan.Zero; // a zero timeout still looks once
            }
            if (!Poll(LibZmq.ZMQ_POLLIN, left))
                return null;
            // POLLIN can be followed by nothing: a REQ with ZMQ_REQ_CORRELATE drops a stale reply, a
            // SUB a message it no longer wants. Wait again for the rest of the time.
            if (TryReceiveFrame(out first, out more, dontWait: true))
                break;
        }
        var frames = new List<byte[]> { first! };
        while (more)
        {
            // The frames of one message arrive together, so none of these waits.
            if (!TryReceiveFrame(out byte[]? frame, out more, dontWait: true))
                throw new ZmqException($"{Type}: the rest of a multipart message did not arrive");
            frames.Add(frame!);
        }
        return frames;
    }

    /// <summary>Every frame of the next message, waiting as <see cref="RcvTimeo"/> allows (throws <see cref="TimeoutException"/>).</summary>
    public List<byte[]> ReceiveMultipart()
    {
        var frames = new List<byte[]>();
        bool more;
        do
        {
            frames.Add(ReceiveFrame(out more));
        }
        while (more);
        return frames;
    }

    /// <summary>zmq_poll on this socket alone: whether <paramref name="events"/> (ZMQ_POLLIN/POLLOUT) became ready within <paramref name="timeout"/>.</summary>
    public bool Poll(short events, TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var item = new ZmqPollItem { Socket = Handle, Events = events };
        while (true)
        {
            long left = Math.Max(0, (long)Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline).TotalMilliseconds);
            int n = LibZmq.zmq_poll(&item, 1, timeout == Timeout.InfiniteTimeSpan ? -1 : left);
            if (n > 0)
                return (item.Revents & events) != 0;
            if (n == 0)
                return false;
            int errno = LibZmq.LastError;
            if (errno != LibZmq.EINTR)
                throw new ZmqException($"zmq_poll on {Type}", errno);
        }
    }

    private bool ReceiveMessage(int flags)
    {
        nint socket = Handle;
        while (true)
        {
            if (LibZmq.zmq_msg_recv(_message, socket, flags) >= 0)
                return true;
            int errno = LibZmq.LastError;
            if (errno == LibZmq.EAGAIN)
                return false;
            if (errno != LibZmq.EINTR)
                throw new ZmqException($"zmq_msg_recv on {Type}", errno);
        }
    }

    private void ReleaseMessage()
    {
        // Give libzmq its buffer back now (a 10 MiB frame should not wait for the next receive).
        LibZmq.zmq_msg_close(_message);
        LibZmq.zmq_msg_init(_message);
    }

    // ---- options ---------------------------------------------------------------------------

    public void SetOption(int option, int value) =>
        Check(LibZmq.zmq_setsockopt(Handle, option, &value, sizeof(int)), $"zmq_setsockopt({option})");

    public void SetOption(int option, long value) =>
        Check(LibZmq.zmq_setsockopt(Handle, option, &value, sizeof(long)), $"zmq_setsockopt({option})");

    public void SetOption(int option, ReadOnlySpan<byte> value)
    {
        byte empty = 0;
        fixed (byte* p = value)
            Check(LibZmq.zmq_setsockopt(Handle, option, value.IsEmpty ? &empty : p, (nuint)value.Length), $"zmq_setsockopt({option})");
    }

    public void SetOption(int option, string value) => SetOption(option, Encoding.UTF8.GetBytes(value));

    public int GetInt32Option(int option)
    {
        int value = 0;
        nuint size = sizeof(int);
        Check(LibZmq.zmq_getsockopt(Handle, option, &value, &size), $"zmq_getsockopt({option})");
        return value;
    }

    public long GetInt64Option(int option)
    {
        long value = 0;
        nuint size = sizeof(long);
        Check(LibZmq.zmq_getsockopt(Handle, option, &value, &size), $"zmq_getsockopt({option})");
        return value;
    }

    public byte[] GetBytesOption(int option)
    {
        byte* value = stackalloc byte[1024];
        nuint size = 1024;
        Check(LibZmq.zmq_getsockopt(Handle, option, value, &size), $"zmq_getsockopt({option})");
        return new ReadOnlySpan<byte>(value, (int)size).ToArray();
    }

    /// <summary>A string option; libzmq counts the terminating NUL in the size of some, which is dropped.</summary>
    public string GetStringOption(int option)
    {
        byte[] value = GetBytesOption(option);
        int end = value.AsSpan().IndexOf((byte)0);
        return Encoding.UTF8.GetString(value, 0, end < 0 ? value.Length : end);
    }

    public int SndHwm { get => GetInt32Option(LibZmq.ZMQ_SNDHWM); set => SetOption(LibZmq.ZMQ_SNDHWM, value); }

    public int RcvHwm { get => GetInt32Option(LibZmq.ZMQ_RCVHWM); set => SetOption(LibZmq.ZMQ_RCVHWM, value); }

    /// <summary>Milliseconds; -1 forever.</summary>
    public int Linger { get => GetInt32Option(LibZmq.ZMQ_LINGER); set => SetOption(LibZmq.ZMQ_LINGER, value); }

    /// <summary>Milliseconds a receive waits; -1 (the default) forever.</summary>
    public int RcvTimeo { get => GetInt32Option(LibZmq.ZMQ_RCVTIMEO); set => SetOption(LibZmq.ZMQ_RCVTIMEO, value); }

    /// <summary>Milliseconds a send waits; -1 (the default) forever.</summary>
    public int SndTimeo { get => GetInt32Option(LibZmq.ZMQ_SNDTIMEO); set => SetOption(LibZmq.ZMQ_SNDTIMEO, value); }

    /// <summary>ZMQ_ROUTING_ID (formerly ZMQ_IDENTITY), 1 to 255 bytes, set before connecting.</summary>
    public byte[] Identity { get => GetBytesOption(LibZmq.ZMQ_ROUTING_ID); set => SetOption(LibZmq.ZMQ_ROUTING_ID, value); }

    public string LastEndpoint => GetStringOption(LibZmq.ZMQ_LAST_ENDPOINT);

    /// <summary>Whether the last frame received has more after it (ZMQ_RCVMORE).</summary>
    public bool RcvMore => GetInt32Option(LibZmq.ZMQ_RCVMORE) != 0;

    /// <summary>The security mechanism in force: 0 NULL, 1 PLAIN, 2 CURVE, 3 GSSAPI.</summary>
    public int Mechanism => GetInt32Option(LibZmq.ZMQ_MECHANISM);

    public bool PlainServer { get => GetInt32Option(LibZmq.ZMQ_PLAIN_SERVER) != 0; set => SetOption(LibZmq.ZMQ_PLAIN_SERVER, value ? 1 : 0); }

    public string PlainUsername { get => GetStringOption(LibZmq.ZMQ_PLAIN_USERNAME); set => SetOption(LibZmq.ZMQ_PLAIN_USERNAME, value); }

    public string PlainPassword { get => GetStringOption(LibZmq.ZMQ_PLAIN_PASSWORD); set => SetOption(LibZmq.ZMQ_PLAIN_PASSWORD, value); }

    /// <summary>Milliseconds between ZMTP PINGs; 0 (the default) none.</summary>
    public int HeartbeatIvl { get => GetInt32Option(LibZmq.ZMQ_HEARTBEAT_IVL); set => SetOption(LibZmq.ZMQ_HEARTBEAT_IVL, value); }

    /// <summary>Milliseconds to wait for traffic after a PING before closing the connection.</summary>
    public int HeartbeatTimeout { get => GetInt32Option(LibZmq.ZMQ_HEARTBEAT_TIMEOUT); set => SetOption(LibZmq.ZMQ_HEARTBEAT_TIMEOUT, value); }

    /// <summary>Milliseconds the remote side should wait without traffic (sent in PINGs, in deciseconds on the wire).</summary>
    public int HeartbeatTtl { get => GetInt32Option(LibZmq.ZMQ_HEARTBEAT_TTL); set => SetOption(LibZmq.ZMQ_HEARTBEAT_TTL, value); }

    public int ReconnectIvl { get => GetInt32Option(LibZmq.ZMQ_RECONNECT_IVL); set => SetOption(LibZmq.ZMQ_RECONNECT_IVL, value); }

    /// <summary>Largest message accepted, in bytes; -1 (the default) no limit. A larger one closes the connection.</summary>
    public long MaxMsgSize { get => GetInt64Option(LibZmq.ZMQ_MAXMSGSIZE); set => SetOption(LibZmq.ZMQ_MAXMSGSIZE, value); }

    /// <summary>Queue messages only to completed connections.</summary>
    public bool Immediate { get => GetInt32Option(LibZmq.ZMQ_IMMEDIATE) != 0; set => SetOption(LibZmq.ZMQ_IMMEDIATE, value ? 1 : 0); }

    public void Subscribe(ReadOnlySpan<byte> prefix) => SetOption(LibZmq.ZMQ_SUBSCRIBE, prefix);

    public void Subscribe(string prefix) => SetOption(LibZmq.ZMQ_SUBSCRIBE, prefix);

    public void Unsubscribe(ReadOnlySpan<byte> prefix) => SetOption(LibZmq.ZMQ_UNSUBSCRIBE, prefix);

    public void Unsubscribe(string prefix) => SetOption(LibZmq.ZMQ_UNSUBSCRIBE, prefix);

    // Write-only options (libzmq cannot read them back).

    /// <summary>ROUTER: sending to an unknown routing id fails with EHOSTUNREACH instead of being dropped.</summary>
    public void SetRouterMandatory(bool on) => SetOption(LibZmq.ZMQ_ROUTER_MANDATORY, on ? 1 : 0);

    /// <summary>REQ: allow a new request before the reply (usually with <see cref="SetReqCorrelate"/>).</summary>
    public void SetReqRelaxed(bool on) => SetOption(LibZmq.ZMQ_REQ_RELAXED, on ? 1 : 0);

    /// <summary>REQ: prefix requests with a request id and drop replies that do not match.</summary>
    public void SetReqCorrelate(bool on) => SetOption(LibZmq.ZMQ_REQ_CORRELATE, on ? 1 : 0);

    // ---- monitor ---------------------------------------------------------------------------

    private static int s_monitors;

    /// <summary>Starts zmq_socket_monitor on this socket: the events arrive on the returned PAIR socket's <see cref="ZmqMonitor.TryReceive"/>.</summary>
    public ZmqMonitor Monitor(ZmqEvent events = ZmqEvent.All)
    {
        string endpoint = $"inproc://psyne-zmq-monitor-{Environment.ProcessId}-{Interlocked.Increment(ref s_monitors)}";
        Check(LibZmq.zmq_socket_monitor(Handle, endpoint, (int)events), $"zmq_socket_monitor({endpoint})");
        return new ZmqMonitor(this, endpoint);
    }

    internal void StopMonitor()
    {
        if (_handle != 0)
            LibZmq.zmq_socket_monitor(_handle, null, 0);
    }

    // ---- lifetime --------------------------------------------------------------------------

    public void Dispose()
    {
        nint handle = _handle;
        if (handle == 0)
            return;
        _handle = 0;
        LibZmq.zmq_close(handle);
        LibZmq.zmq_msg_close(_message);
        NativeMemory.AlignedFree(_message);
        _message = null;
    }

    private void Check(int rc, string operation)
    {
        if (rc != 0)
            throw new ZmqException($"{operation} on {Type}", LibZmq.LastError);
    }
}

/// <summary>One monitor event: what happened, its value (a file descriptor, an errno or a ZMTP protocol error) and the endpoint.</summary>
internal readonly record struct ZmqMonitorEvent(ZmqEvent Event, uint Value, string Endpoint);

/// <summary>The PAIR end of zmq_socket_monitor. Dispose stops the monitor and closes the PAIR socket.</summary>
internal sealed class ZmqMonitor : IDisposable
{
    private readonly ZmqSocket _monitored;
    private readonly ZmqSocket _pair;

    internal ZmqMonitor(ZmqSocket monitored, string endpoint)
    {
        _monitored = monitored;
        _pair = monitored.Context.Socket(ZmqSocketType.Pair);
        _pair.Linger = 0;
        _pair.Connect(endpoint);
    }

    /// <summary>The next event within <paramref name="timeout"/>, or false.</summary>
    public bool TryReceive(TimeSpan timeout, out ZmqMonitorEvent monitorEvent)
    {
        monitorEvent = default;
        List<byte[]>? frames = _pair.ReceiveMultipart(timeout);
        if (frames is null || frames.Count < 2 || frames[0].Length < 6)
            return false;
        ushort code = BitConverter.ToUInt16(frames[0], 0);
        uint value = BitConverter.ToUInt32(frames[0], 2);
        monitorEvent = new ZmqMonitorEvent((ZmqEvent)code, value, Encoding.UTF8.GetString(frames[1]));
        return true;
    }

    /// <summary>Waits for an event in <paramref name="wanted"/>, skipping others; false at the deadline.</summary>
    public bool WaitFor(ZmqEvent wanted, TimeSpan timeout, out ZmqMonitorEvent monitorEvent)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            TimeSpan left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
                break;
            if (TryReceive(left, out monitorEvent) && (monitorEvent.Event & wanted) != 0)
                return true;
        }
        monitorEvent = default;
        return false;
    }

    public void Dispose()
    {
        _monitored.StopMonitor();
        _pair.Dispose();
    }
}

/// <summary>
/// A ZAP handler (RFC 27) on a context: libzmq asks it to authenticate every PLAIN (or CURVE)
/// handshake of that context's server sockets, and refuses the handshake without one. Start it
/// before the clients connect; dispose it before the context.
/// </summary>
internal sealed class ZmqZapHandler : IDisposable
{
    public const string Endpoint = "inproc://zeromq.zap.01";

    private readonly ZmqSocket _socket;
    private readonly Func<string, IReadOnlyList<byte[]>, bool> _allow;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _accepted;
    private int _refused;

    /// <param name="allow">Given the mechanism ("PLAIN") and its credentials (PLAIN: username, password), whether to let the peer in.</param>
    public ZmqZapHandler(ZmqContext context, Func<string, IReadOnlyList<byte[]>, bool> allow)
    {
        _allow = allow;
        _socket = context.Socket(ZmqSocketType.Rep);
        _socket.Linger = 0;
        try
        {
            _socket.Bind(Endpoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        _thread = new Thread(Serve) { IsBackground = true, Name = "zmq-zap" };
        _thread.Start();
    }

    /// <summary>A handler that lets in PLAIN peers whose username and password are in <paramref name="users"/>.</summary>
    public static ZmqZapHandler Plain(ZmqContext context, IReadOnlyDictionary<string, string> users) =>
        new(context, (mechanism, credentials) =>
            mechanism == "PLAIN" && credentials.Count == 2 &&
            users.TryGetValue(Encoding.UTF8.GetString(credentials[0]), out string? password) &&
            password == Encoding.UTF8.GetString(credentials[1]));

    public int Accepted => Volatile.Read(ref _accepted);

    public int Refused => Volatile.Read(ref _refused);

    private void Serve()
    {
        try
        {
            while (!_stop)
            {
                // version, request id, domain, address, routing id, mechanism, credentials...
                if (_socket.ReceiveMultipart(TimeSpan.FromMilliseconds(50)) is not { Count: >= 6 } request)
                    continue;
                string mechanism = Encoding.ASCII.GetString(request[5]);
                bool ok = _allow(mechanism, request.Skip(6).ToList());
                Interlocked.Increment(ref ok ? ref _accepted : ref _refused);
                byte[] userId = ok && mechanism == "PLAIN" && request.Count > 6 ? request[6] : [];
                _socket.SendMultipart(request[0], request[1], Encoding.ASCII.GetBytes(ok ? "200" : "400"),
                    Encoding.ASCII.GetBytes(ok ? "OK" : "Invalid credentials"), userId, []);
            }
        }
        catch (ZmqException e) when (e.IsTerminated)
        {
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _socket.Dispose();
    }
}
