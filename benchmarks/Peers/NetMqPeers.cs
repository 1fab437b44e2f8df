using NetMQ;
using NetMQ.Sockets;

namespace Psyne.Benchmarks.Peers;

// NetMQ (the managed ZeroMQ port) as a peer of Psyne's sockets, over loopback tcp, written as its
// users write it: SendFrame(byte[]) and TryReceiveFrameBytes, which allocate a new array per
// message received (MemoryDiagnoser shows it; that is NetMQ's cost, not the benchmark's).

/// <summary>What the NetMQ peers share.</summary>
public static class NetMqPeers
{
    /// <summary>How long a receiving thread waits before looking at its stop flag again.</summary>
    internal static readonly TimeSpan StopPoll = TimeSpan.FromMilliseconds(50);

    public static string Version { get; } = typeof(NetMQSocket).Assembly.GetName().Version?.ToString() ?? "?";

    /// <summary>Ends NetMQ's global context and its threads; call once, when no NetMQ socket is left (the end of a run).</summary>
    public static void Cleanup() => NetMQConfig.Cleanup(block: false);
}

/// <summary>NetMQ PUSH (the caller) to PULL (a receiver thread) over loopback tcp.</summary>
public sealed class NetMqTcpPushPull : IThroughputPeer
{
    private readonly PushSocket _push;
    private readonly PullSocket _pull;
    private readonly Thread _receiver;
    private readonly byte[] _frame;
    private long _sent;
    private PaddedCounter _received;
    private long _errors;
    private volatile bool _stop;

    public NetMqTcpPushPull(int size)
    {
        MessageSize = size;
        _frame = new byte[size];
        _pull = new PullSocket();
        int port = _pull.BindRandomPort("tcp://127.0.0.1");
        _push = new PushSocket();
        _push.Connect($"tcp://127.0.0.1:{port}");
        _receiver = new Thread(Receive) { IsBackground = true, Name = "netmq-pull" };
        _receiver.Start();
    }

    public string Description => $"NetMQ {NetMqPeers.Version} PUSH/PULL";

    public int MessageSize { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        long sent = _sent;
        for (long i = 0; i < count; i++)
        {
            SocketPeerRuns.Stamp(_frame, sent++);
            _push.SendFrame(_frame);
        }
        _sent = sent;
        SocketPeerRuns.WaitFor(ref _received, sent);
    }

    private void Receive()
    {
        long expected = 0;
        while (!_stop)
        {
            if (!_pull.TryReceiveFrameBytes(NetMqPeers.StopPoll, out byte[]? frame))
                continue;
            if (!SocketPeerRuns.Check(frame, MessageSize, expected))
                Interlocked.Increment(ref _errors);
            Volatile.Write(ref _received.Value, ++expected);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _receiver.Join();
        _push.Dispose();
        _pull.Dispose();
    }
}

/// <summary>NetMQ REQ (the caller) and REP (an echo thread) over loopback tcp.</summary>
public sealed class NetMqTcpReqRep : IRoundTripPeer
{
    private readonly RequestSocket _req;
    private readonly ResponseSocket _rep;
    private readonly Thread _echo;
    private readonly byte[] _request;
    private long _sequence;
    private volatile bool _stop;

    public NetMqTcpReqRep(int size)
    {
        MessageSize = size;
        _request = new byte[size];
        _rep = new ResponseSocket();
        int port = _rep.BindRandomPort("tcp://127.0.0.1");
        _req = new RequestSocket();
        _req.Connect($"tcp://127.0.0.1:{port}");
        _echo = new Thread(Echo) { IsBackground = true, Name = "netmq-rep" };
        _echo.Start();
    }

    public string Description => $"NetMQ {NetMqPeers.Version} REQ/REP";

    public int MessageSize { get; }

    public void RoundTrip()
    {
        long s = ++_sequence;
        SocketPeerRuns.Stamp(_request, s);
        _req.SendFrame(_request);
        byte[] reply = _req.ReceiveFrameBytes();
        if (!SocketPeerRuns.Check(reply, MessageSize, s))
            throw new InvalidOperationException($"NetMQ REP answered request {s} with a wrong reply");
    }

    private void Echo()
    {
        while (!_stop)
        {
            if (_rep.TryReceiveFrameBytes(NetMqPeers.StopPoll, out byte[]? frame))
                _rep.SendFrame(frame);
        }
    }

    public void Dispose()
    {
        _stop = true;
        _echo.Join();
        _req.Dispose();
        _rep.Dispose();
    }
}
