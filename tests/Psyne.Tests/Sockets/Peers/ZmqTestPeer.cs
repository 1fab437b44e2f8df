using NetMQ;
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

    /// <summary>Where it is bound or connected (tcp://host:port).</summary>
    string Endpoint { get; }

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
    /// <param name="connectTo">Null: bind on a free loopback tcp port; else the endpoint to connect to.</param>
    /// <param name="identity">The routing id to present (set before connecting).</param>
    /// <param name="subscribe">SUB: prefixes to subscribe to.</param>
    public static IZmqTestPeer Open(string implementation, ZmqSocketType type, string? connectTo = null, byte[]? identity = null,
                                    params byte[][] subscribe)
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
                }
                LibZmqPeer peer = connectTo is null ? LibZmqPeer.Bind(type, configure: Configure) : LibZmqPeer.Connect(type, connectTo, Configure);
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
                }
                NetMqPeer peer = connectTo is null ? NetMqPeer.Bind(type, configure: Configure) : NetMqPeer.Connect(type, connectTo, Configure);
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

        public void Dispose() => peer.Dispose();
    }
}
