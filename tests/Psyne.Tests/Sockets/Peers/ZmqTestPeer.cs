using NetMQ;
using Psyne.Benchmarks.Peers;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// Either ZeroMQ implementation behind one face, so one test runs in both directions
/// (<c>[TestCase("libzmq", "netmq")]</c>, <c>[TestCase("netmq", "libzmq")]</c>).
/// </summary>
internal interface IZmqTestPeer : IDisposable
{
    /// <summary>"libzmq" or "netmq".</summary>
    string Implementation { get; }

    /// <summary>Where it is bound or connected (tcp://host:port, or libzmq's ipc:///path).</summary>
    string Endpoint { get; }

    /// <summary>The same endpoint as a Psyne URI (libzmq's ipc:///path is Psyne's unix:///path).</summary>
    string PsyneEndpoint => ZmqEndpoint.FromLibZmq(Endpoint);

    /// <summary>Also connects to <paramref name="endpoint"/> (Psyne's or libzmq's form), from the test's thread.</summary>
    void ConnectAlso(string endpoint);

    /// <summary>SUB: subscribes to <paramref name="prefix"/> (from the test's thread).</summary>
    void Subscribe(byte[] prefix);

    /// <summary>SUB: cancels one subscription to <paramref name="prefix"/>.</summary>
    void Unsubscribe(byte[] prefix);

    void Send(params byte[][] frames);

    List<byte[]> Receive(TimeSpan? timeout = null);

    List<byte[]>? TryReceive(TimeSpan timeout);

    /// <summary>A background thread now sends every message received back unchanged.</summary>
    void StartEcho();
}

/// <summary>Opens an <see cref="IZmqTestPeer"/> of either implementation.</summary>
internal static class ZmqTestPeer
{
    public const string LibZmq = "libzmq";
    public const string NetMq = "netmq";

    /// <param name="implementation"><see cref="LibZmq"/> or <see cref="NetMq"/>.</param>
    /// <param name="connectTo">Null: bind (on <paramref name="bindAt"/>, by default a free loopback tcp port); else the endpoint to connect to (Psyne's or libzmq's form).</param>
    /// <param name="identity">The routing id to present (set before connecting).</param>
    /// <param name="bindAt">Where to bind when not connecting: a Psyne URI (tcp://host:port, tcp://host:0, unix:///path for libzmq).</param>
    /// <param name="configureLibZmq">More libzmq options, set before binding or connecting.</param>
    /// <param name="configureNetMq">More NetMQ options, set before binding or connecting.</param>
    /// <param name="subscribe">SUB: prefixes to subscribe to.</param>
    public static IZmqTestPeer Open(string implementation, ZmqSocketType type, string? connectTo = null, byte[]? identity = null,
                                    string? bindAt = null, Action<Psyne.Benchmarks.Peers.ZmqSocket>? configureLibZmq = null,
                                    Action<NetMQSocket>? configureNetMq = null, params byte[][] subscribe)
    {
        switch (implementation)
        {
            case LibZmq:
            {
                void Configure(Psyne.Benchmarks.Peers.ZmqSocket s)
                {
                    if (identity is not null)
                        s.Identity = identity;
                    foreach (byte[] prefix in subscribe)
                        s.Subscribe(prefix);
                    configureLibZmq?.Invoke(s);
                }
                LibZmqPeer peer = connectTo is null ? LibZmqPeer.Bind(type, bindAt ?? "tcp://127.0.0.1:*", Configure) : LibZmqPeer.Connect(type, connectTo, Configure);
                return new LibZmqSide(peer);
            }
            case NetMq:
            {
                void Configure(NetMQSocket s)
                {
                    if (identity is not null)
                        s.Options.Identity = identity;
                    foreach (byte[] prefix in subscribe)
                        ((NetMQ.Sockets.SubscriberSocket)s).Subscribe(prefix);
                    configureNetMq?.Invoke(s);
                }
                NetMqPeer peer = connectTo is null
                    ? bindAt is null || bindAt.EndsWith(":0", StringComparison.Ordinal) ? NetMqPeer.Bind(type, configure: Configure) : NetMqPeer.BindAt(type, bindAt, Configure)
                    : NetMqPeer.Connect(type, connectTo, Configure);
                return new NetMqSide(peer);
            }
            default:
                throw new ArgumentException($"unknown implementation '{implementation}'", nameof(implementation));
        }
    }

    private sealed class LibZmqSide(LibZmqPeer peer) : IZmqTestPeer
    {
        public string Implementation => LibZmq;

        public string Endpoint => peer.Endpoint;

        public void Send(params byte[][] frames) => peer.Send(frames);

        public List<byte[]> Receive(TimeSpan? timeout = null) => peer.Receive(timeout);

        public List<byte[]>? TryReceive(TimeSpan timeout) => peer.TryReceive(timeout);

        public void StartEcho() => peer.StartEcho();

        public void ConnectAlso(string endpoint) => peer.Socket.Connect(LibZmqPeer.ToLibZmq(endpoint));

        public void Subscribe(byte[] prefix) => peer.Socket.Subscribe(prefix);

        public void Unsubscribe(byte[] prefix) => peer.Socket.Unsubscribe(prefix);

        public void Dispose() => peer.Dispose();
    }

    private sealed class NetMqSide(NetMqPeer peer) : IZmqTestPeer
    {
        public string Implementation => NetMq;

        public string Endpoint => peer.Endpoint;

        public void Send(params byte[][] frames) => peer.Send(frames);

        public List<byte[]> Receive(TimeSpan? timeout = null) => peer.Receive(timeout);

        public List<byte[]>? TryReceive(TimeSpan timeout) => peer.TryReceive(timeout);

        public void StartEcho() => peer.StartEcho();

        public void ConnectAlso(string endpoint) => peer.Socket.Connect(endpoint);

        public void Subscribe(byte[] prefix) => peer.Subscribe(prefix);

        public void Unsubscribe(byte[] prefix) => peer.Unsubscribe(prefix);

        public void Dispose() => peer.Dispose();
    }
}
