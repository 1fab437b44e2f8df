using System.Collections.Concurrent;
using NetMQ;
using NetMQ.Sockets;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// NetMQ (the managed ZeroMQ port) as a test's counterpart, shaped like <see cref="LibZmqPeer"/>:
/// bound on a free loopback tcp port or connected, used from the test's thread or by a background
/// echo or collector loop. NetMQ has no ipc:// transport on Linux; tcp only.
/// </summary>
internal sealed class NetMqPeer : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly NetMQSocket _socket;
    private readonly BlockingCollection<List<byte[]>> _received = new();
    private Thread? _thread;
    private volatile bool _stop;
    private volatile Exception? _failure;

    private NetMqPeer(ZmqSocketType type, Action<NetMQSocket>? configure)
    {
        Type = type;
        _socket = Create(type);
        _socket.Options.Linger = TimeSpan.Zero;
        configure?.Invoke(_socket);
        Endpoint = "";
    }

    public ZmqSocketType Type { get; }

    /// <summary>The endpoint bound (with the real port) or connected to.</summary>
    public string Endpoint { get; private set; }

    public NetMQSocket Socket => _thread is null ? _socket : throw new InvalidOperationException("a background loop owns this socket");

    /// <summary>Binds on a free port of <paramref name="address"/> (BindRandomPort).</summary>
    public static NetMqPeer Bind(ZmqSocketType type, string address = "tcp://127.0.0.1", Action<NetMQSocket>? configure = null)
    {
        var peer = new NetMqPeer(type, configure);
        try
        {
            int port = peer._socket.BindRandomPort(address);
            peer.Endpoint = $"{address}:{port}";
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    /// <summary>Binds on exactly <paramref name="endpoint"/> (tcp://host:port), e.g. to take over a closed peer's port.</summary>
    public static NetMqPeer BindAt(ZmqSocketType type, string endpoint, Action<NetMQSocket>? configure = null)
    {
        var peer = new NetMqPeer(type, configure);
        try
        {
            peer._socket.Bind(endpoint);
            peer.Endpoint = endpoint;
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    public static NetMqPeer Connect(ZmqSocketType type, string endpoint, Action<NetMQSocket>? configure = null)
    {
        var peer = new NetMqPeer(type, configure);
        try
        {
            peer._socket.Connect(endpoint);
            peer.Endpoint = endpoint;
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    private static NetMQSocket Create(ZmqSocketType type) => type switch
    {
        ZmqSocketType.Pair => new PairSocket(),
        ZmqSocketType.Pub => new PublisherSocket(),
        ZmqSocketType.Sub => new SubscriberSocket(),
        ZmqSocketType.Req => new RequestSocket(),
        ZmqSocketType.Rep => new ResponseSocket(),
        ZmqSocketType.Dealer => new DealerSocket(),
        ZmqSocketType.Router => new RouterSocket(),
        ZmqSocketType.Pull => new PullSocket(),
        ZmqSocketType.Push => new PushSocket(),
        ZmqSocketType.XPub => new XPublisherSocket(),
        ZmqSocketType.XSub => new XSubscriberSocket(),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>SUB: subscribes to messages whose first frame starts with <paramref name="prefix"/>.</summary>
    public void Subscribe(byte[] prefix) => ((SubscriberSocket)Socket).Subscribe(prefix);

    /// <summary>SUB: cancels one subscription to <paramref name="prefix"/>.</summary>
    public void Unsubscribe(byte[] prefix) => ((SubscriberSocket)Socket).Unsubscribe(prefix);

    public void Send(params byte[][] frames)
    {
        if (!Socket.TrySendMultipartBytes(DefaultTimeout, frames))
            throw new AssertionException($"NetMQ {Type} could not send within {DefaultTimeout.TotalSeconds:0.#} s");
    }

    public List<byte[]> Receive(TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? DefaultTimeout;
        return TryReceive(wait) ?? throw new AssertionException($"NetMQ {Type} received nothing within {wait.TotalSeconds:0.#} s");
    }

    public List<byte[]>? TryReceive(TimeSpan timeout)
    {
        var frames = new List<byte[]>();
        return Socket.TryReceiveMultipartBytes(timeout, ref frames) ? frames : null;
    }

    /// <summary>A background thread sends every message received back unchanged (see <see cref="LibZmqPeer.StartEcho"/>).</summary>
    public NetMqPeer StartEcho() => Start(frames => _socket.SendMultipartBytes(frames), "echo");

    /// <summary>A background thread queues every message received for <see cref="TakeMessage"/>.</summary>
    public NetMqPeer StartCollector() => Start(_received.Add, "collector");

    public List<byte[]> TakeMessage(TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? DefaultTimeout;
        if (_received.TryTake(out List<byte[]>? message, wait))
            return message;
        if (_failure is { } e)
            throw new InvalidOperationException($"the NetMQ {Type} background loop failed: {e.Message}", e);
        throw new AssertionException($"the NetMQ {Type} collector received nothing within {wait.TotalSeconds:0.#} s");
    }

    private NetMqPeer Start(Action<List<byte[]>> onMessage, string role)
    {
        if (_thread is not null)
            throw new InvalidOperationException("the background loop is already running");
        _thread = new Thread(() =>
        {
            try
            {
                var frames = new List<byte[]>();
                while (!_stop)
                {
                    if (_socket.TryReceiveMultipartBytes(TimeSpan.FromMilliseconds(50), ref frames))
                    {
                        onMessage(frames);
                        frames = new List<byte[]>(); // the message now belongs to onMessage
                    }
                }
            }
            catch (Exception e)
            {
                _failure = e;
            }
        })
        { IsBackground = true, Name = $"netmq-{Type}-{role}".ToLowerInvariant() };
        _thread.Start();
        return this;
    }

    public void Dispose()
    {
        _stop = true;
        _thread?.Join();
        _socket.Dispose();
        _received.Dispose();
    }
}
