using Psyne.Sockets;

namespace Psyne.Benchmarks.Peers;

// Psyne's own ZeroMQ-compatible sockets (Psyne.Sockets), measured exactly as the libzmq peers in
// SocketPeers.cs are: the caller's thread sends, a receiver (or echo) thread receives, every
// message carries its sequence number in its first 8 bytes and the receiving side checks it and
// the length. Sends take a reused array as a span and receives are zero-copy views
// (ReceivedFrame), so neither loop allocates. Shared by SocketBenchmarks and `psyne bench sockets`.

/// <summary>What the Psyne socket peers share.</summary>
public static class PsyneSocketPeers
{
    /// <summary>How long a receiving thread waits before looking at its stop flag again.</summary>
    internal static readonly TimeSpan StopPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Options for a benchmark socket: nothing left to linger over at the end of a run.</summary>
    internal static SocketOptions Options() => new() { Linger = TimeSpan.Zero };

    /// <summary>A unix socket path of its own in the temp folder.</summary>
    internal static string UnixPath(string label) =>
        Path.Combine(Path.GetTempPath(), $"psyne-bench-{label}-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
}

/// <summary>
/// Psyne PUSH (the caller) to PULL (a receiver thread) over one endpoint: PULL binds, PUSH
/// connects. The receiver checks each message in place and owns the PULL socket (a socket is
/// used by one thread at a time).
/// </summary>
public class PsynePushPull : IThroughputPeer
{
    private readonly PushSocket _push;
    private readonly PullSocket _pull;
    private readonly Thread _receiver;
    private readonly byte[] _frame;
    private readonly string? _unixPath;
    private long _sent;
    private PaddedCounter _received;
    private long _errors;
    private volatile bool _stop;

    /// <param name="size">Bytes per message.</param>
    /// <param name="endpoint">Where PULL binds (tcp://127.0.0.1:0, unix:///path, inproc://name).</param>
    /// <param name="transport">How the description names the transport.</param>
    /// <param name="unixPath">A socket file to delete on disposal, if any.</param>
    protected PsynePushPull(int size, string endpoint, string transport, string? unixPath = null)
    {
        MessageSize = size;
        Transport = transport;
        _unixPath = unixPath;
        _frame = new byte[size];
        _pull = new PullSocket(PsyneSocketPeers.Options());
        try
        {
            Endpoint = _pull.Bind(endpoint);
            _push = new PushSocket(PsyneSocketPeers.Options());
            _push.Connect(Endpoint);
        }
        catch
        {
            _pull.Dispose();
            _push?.Dispose();
            throw;
        }
        _receiver = new Thread(Receive) { IsBackground = true, Name = $"psyne-pull-{transport}" };
        _receiver.Start();
    }

    /// <summary>The endpoint PULL bound, as resolved (the real port).</summary>
    public string Endpoint { get; }

    /// <summary>tcp, unix or inproc.</summary>
    public string Transport { get; }

    public string Description => $"Psyne {Transport} PUSH/PULL";

    public int MessageSize { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        PushSocket push = _push;
        byte[] frame = _frame;
        long sent = _sent;
        for (long i = 0; i < count; i++)
        {
            SocketPeerRuns.Stamp(frame, sent++);
            push.Send(frame);
        }
        _sent = sent;
        SocketPeerRuns.WaitFor(ref _received, sent);
    }

    private void Receive()
    {
        PullSocket pull = _pull;
        int size = MessageSize;
        long expected = 0;
        try
        {
            while (!_stop)
            {
                if (!pull.TryReceive(PsyneSocketPeers.StopPoll, out ReceivedFrame frame))
                    continue;
                if (frame.More || !SocketPeerRuns.Check(frame.Data, size, expected))
                    Interlocked.Increment(ref _errors);
                Volatile.Write(ref _received.Value, ++expected);
            }
        }
        finally
        {
            pull.Dispose();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _receiver.Join();
        _push.Dispose();
        if (_unixPath is not null)
            File.Delete(_unixPath);
        GC.SuppressFinalize(this);
    }
}

/// <summary>Psyne PUSH to PULL over loopback tcp (ZMTP 3.1, as libzmq speaks it).</summary>
public sealed class PsyneTcpPushPull(int size) : PsynePushPull(size, "tcp://127.0.0.1:0", "tcp");

/// <summary>Psyne PUSH to PULL over a unix domain socket (ZMTP 3.1).</summary>
public sealed class PsyneUnixPushPull : PsynePushPull
{
    public PsyneUnixPushPull(int size)
        : this(size, PsyneSocketPeers.UnixPath("push-pull"))
    {
    }

    private PsyneUnixPushPull(int size, string path)
        : base(size, "unix://" + path, "unix", path)
    {
    }
}

/// <summary>Psyne PUSH to PULL in process (inproc://: no wire, the frame queues link the two sockets).</summary>
public sealed class PsyneInprocPushPull(int size)
    : PsynePushPull(size, $"inproc://psyne-bench-{Environment.ProcessId}-{Guid.NewGuid():N}", "inproc");

/// <summary>Psyne REQ (the caller) and REP (an echo thread that owns it) over loopback tcp; no allocation per round trip.</summary>
public sealed class PsyneTcpReqRep : IRoundTripPeer
{
    private readonly ReqSocket _req;
    private readonly RepSocket _rep;
    private readonly Thread _echo;
    private readonly byte[] _request;
    private long _sequence;
    private volatile bool _stop;

    public PsyneTcpReqRep(int size)
    {
        MessageSize = size;
        _request = new byte[size];
        _rep = new RepSocket(PsyneSocketPeers.Options());
        try
        {
            Endpoint = _rep.Bind("tcp://127.0.0.1:0");
            _req = new ReqSocket(PsyneSocketPeers.Options());
            _req.Connect(Endpoint);
        }
        catch
        {
            _rep.Dispose();
            _req?.Dispose();
            throw;
        }
        _echo = new Thread(Echo) { IsBackground = true, Name = "psyne-rep" };
        _echo.Start();
    }

    /// <summary>The endpoint REP bound, as resolved.</summary>
    public string Endpoint { get; }

    public string Description => "Psyne tcp REQ/REP";

    public int MessageSize { get; }

    public void RoundTrip()
    {
        long s = ++_sequence;
        SocketPeerRuns.Stamp(_request, s);
        _req.Send(_request);
        ReceivedFrame reply = _req.Receive();
        if (reply.More || !SocketPeerRuns.Check(reply.Data, MessageSize, s))
            throw new InvalidOperationException($"Psyne REP answered request {s} with a wrong reply");
    }

    private void Echo()
    {
        RepSocket rep = _rep;
        try
        {
            while (!_stop)
            {
                if (rep.TryReceive(PsyneSocketPeers.StopPoll, out ReceivedFrame request))
                    rep.Send(request.Data); // the request's view stays valid until the next receive
            }
        }
        finally
        {
            rep.Dispose();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _echo.Join();
        _req.Dispose();
    }
}
