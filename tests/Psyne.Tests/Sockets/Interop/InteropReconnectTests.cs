using Psyne.Sockets;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.Interop.Interop;
using static Psyne.Tests.Sockets.SocketTestSupport;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Tests.Sockets.Interop;

/// <summary>
/// Reconnection across implementations. Psyne connects to a libzmq or NetMQ peer that is closed and
/// replaced by a new one bound on the same endpoint: Psyne reconnects by itself and messages flow
/// again (queued ones included; a SUB's subscriptions and a DEALER's identity are announced anew).
/// And the converse: Psyne's bound socket is disposed and a new one binds the endpoint; the libzmq
/// or NetMQ connector reconnects to it.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class InteropReconnectTests
{
    public enum Pattern
    {
        PushPull,
        SubPub,
        DealerRouter,
    }

    public static IEnumerable<TestCaseData> PsyneReconnects() =>
        from pattern in Enum.GetValues<Pattern>()
        from kind in PeerKind.All
        select new TestCaseData(pattern, kind).SetArgDisplayNames(pattern.ToString(), kind.ToString());

    [TestCaseSource(nameof(PsyneReconnects))]
    public void Psyne_reconnects_when_the_peer_is_replaced_on_the_same_endpoint(Pattern pattern, PeerKind kind)
    {
        byte[] identity = Bytes("psyne-dealer");
        (SocketType psyneType, ZmqSocketType peerType) = pattern switch
        {
            Pattern.PushPull => (SocketType.Push, ZmqSocketType.Pull),
            Pattern.SubPub => (SocketType.Sub, ZmqSocketType.Pub),
            _ => (SocketType.Dealer, ZmqSocketType.Router),
        };
        using PsyneSocket psyne = Create(psyneType, Opts(o => o.Identity = pattern == Pattern.DealerRouter ? identity : null));
        var events = new EventLog(psyne);
        if (psyne is SubSocket sub)
            sub.Subscribe("t");
        IZmqTestPeer peer = Link(psyne, kind, peerType, Direction.PeerBinds);
        string endpoint = peer.PsyneEndpoint;
        try
        {
            Exchange("one");
            peer.Dispose();
            events.WaitFor(SocketEventKind.Disconnected);
            // A new peer takes over the endpoint (libzmq removes its ipc file on close; tcp reuses the port).
            peer = ZmqTestPeer.Open(kind.Implementation, peerType, bindAt: endpoint);
            Exchange("two");
            Assert.That(events.Count(SocketEventKind.HandshakeSucceeded), Is.EqualTo(2), events.ToString());
        }
        finally
        {
            peer.Dispose();
        }

        void Exchange(string round)
        {
            switch (pattern)
            {
                case Pattern.PushPull:
                    // Sent before (round two: while) the connection is up: queued, then all delivered in order.
                    for (int i = 0; i < 50; i++)
                        Send(psyne, Bytes($"{round} {i}"));
                    for (int i = 0; i < 50; i++)
                        Assert.That(Text(peer.Receive()[0]), Is.EqualTo($"{round} {i}"));
                    break;
                case Pattern.SubPub:
                    // The new publisher knows nothing: Psyne's SUB must announce "t" again on the new connection.
                    ProbeUntil(() => peer.Send(Bytes("t probe")), () => psyne.TryReceiveMultipart(TimeSpan.FromMilliseconds(10), out _), $"round {round}'s subscription");
                    peer.Send(Bytes("u: not subscribed"));
                    peer.Send(Bytes($"t {round}"));
                    Assert.That(Text(ReceiveSkipping(psyne, m => Text(m[0]) == "t probe")[0]), Is.EqualTo($"t {round}"));
                    break;
                case Pattern.DealerRouter:
                    Send(psyne, Bytes($"{round} request"));
                    Assert.That(peer.Receive(), Is.EqualTo(new[] { identity, Bytes($"{round} request") }), "the identity is announced on each connection");
                    peer.Send(identity, Bytes($"{round} reply"));
                    Assert.That(Text(Expect(psyne)[0]), Is.EqualTo($"{round} reply"));
                    break;
            }
        }
    }

    public static IEnumerable<TestCaseData> PeerReconnects() =>
        PeerKind.All.Select(kind => new TestCaseData(kind).SetArgDisplayNames(kind.ToString()));

    [TestCaseSource(nameof(PeerReconnects))]
    public void Peer_reconnects_when_psyne_is_replaced_on_the_same_endpoint(PeerKind kind)
    {
        if (kind.IsLibZmq)
            LibZmqPeer.RequireLibZmq();
        var first = new PullSocket(Opts());
        PullSocket? second = null;
        try
        {
            string endpoint = first.Bind(Endpoint(kind.Transport));
            using IZmqTestPeer push = ZmqTestPeer.Open(kind.Implementation, ZmqSocketType.Push, connectTo: endpoint,
                configureLibZmq: s => s.ReconnectIvl = 20,
                configureNetMq: s => s.Options.ReconnectInterval = TimeSpan.FromMilliseconds(20));
            for (int i = 0; i < 50; i++)
                push.Send(Bytes($"one {i}"));
            for (int i = 0; i < 50; i++)
                Assert.That(ExpectText(first), Is.EqualTo($"one {i}"));

            first.Dispose();
            second = new PullSocket(Opts());
            var events = new EventLog(second);
            Assert.That(second.Bind(endpoint), Is.EqualTo(endpoint), "the same endpoint, bound again");
            events.WaitFor(SocketEventKind.HandshakeSucceeded);

            // What the peer wrote into the old connection before it saw it close is lost with it (as
            // in ZeroMQ); once a probe gets through, everything after it arrives, in order.
            ProbeUntil(() => push.Send(Bytes("probe")), () => second.TryReceiveMultipart(TimeSpan.FromMilliseconds(10), out _), "the peer to reconnect");
            for (int i = 0; i < 50; i++)
                push.Send(Bytes($"two {i}"));
            for (int i = 0; i < 50; i++)
                Assert.That(Text(ReceiveSkipping(second, m => Text(m[0]) == "probe")[0]), Is.EqualTo($"two {i}"));
        }
        finally
        {
            first.Dispose();
            second?.Dispose();
        }
    }
}
