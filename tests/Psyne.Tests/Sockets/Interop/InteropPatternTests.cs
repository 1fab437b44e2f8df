using Psyne.Sockets;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.Interop.Interop;
using static Psyne.Tests.Sockets.SocketTestSupport;
using ST = Psyne.Sockets.SocketType;

namespace Psyne.Tests.Sockets.Interop;

/// <summary>
/// Every legal socket-type pair between a Psyne socket and a libzmq or NetMQ one, in both directions
/// (Psyne binds and the peer connects, the peer binds and Psyne connects), over tcp and, for libzmq,
/// unix sockets (libzmq's ipc://). Each case moves multipart messages with empty frames (first,
/// middle and last) and a 0-byte message through the pattern's envelope rules, both ways where the
/// pattern allows. A second matrix moves 10 MiB messages.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class InteropPatternTests
{
    /// <summary>(Psyne's type, the peer's type): every pairing ZMTP allows, Psyne on each side of it.</summary>
    private static readonly (ST Psyne, ST Peer)[] Pairs =
    [
        (ST.Push, ST.Pull), (ST.Pull, ST.Push),
        (ST.Req, ST.Rep), (ST.Rep, ST.Req),
        (ST.Req, ST.Router), (ST.Router, ST.Req),
        (ST.Dealer, ST.Rep), (ST.Rep, ST.Dealer),
        (ST.Dealer, ST.Router), (ST.Router, ST.Dealer),
        (ST.Dealer, ST.Dealer), (ST.Router, ST.Router),
        (ST.Pub, ST.Sub), (ST.Sub, ST.Pub),
        (ST.XPub, ST.Sub), (ST.XPub, ST.XSub),
        (ST.Pub, ST.XSub), (ST.XSub, ST.Pub),
        (ST.Pair, ST.Pair),
    ];

    public static IEnumerable<TestCaseData> PairCases() =>
        from pair in Pairs
        from kind in PeerKind.All
        from direction in new[] { Direction.PsyneBinds, Direction.PeerBinds }
        select new TestCaseData(pair.Psyne, pair.Peer, kind, direction)
            .SetArgDisplayNames($"{pair.Psyne.WireName()}_{pair.Peer.WireName()}", kind.ToString(), direction.ToString());

    private static readonly byte[] PsyneId = Bytes("psyne-id");
    private static readonly byte[] PeerId = Bytes("peer-id");

    // Multipart with empty frames first, in the middle and last; then a message of one 0-byte frame.
    private static byte[][] Multi(string head) => [Bytes(head), [], Bytes("middle"), []];

    private static readonly byte[][] Zero = [[]];

    [TestCaseSource(nameof(PairCases))]
    public void Pair_exchanges_multipart_and_empty_messages(ST psyneType, ST peerType, PeerKind kind, Direction direction)
    {
        bool identified = psyneType is ST.Req or ST.Dealer or ST.Router;
        using PsyneSocket psyne = Create(psyneType, Opts(o => o.Identity = identified ? PsyneId : null));
        bool peerIdentified = peerType is ST.Req or ST.Dealer or ST.Router;
        using IZmqTestPeer peer = Link(psyne, kind, ToZmq(peerType), direction, peerIdentified ? PeerId : null,
            subscribe: peerType == ST.Sub ? [Bytes("t")] : []);

        switch (psyneType, peerType)
        {
            case (ST.Push, ST.Pull):
                Send(psyne, Multi("push"));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo(Multi("push")));
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
                break;

            case (ST.Pull, ST.Push):
                peer.Send(Multi("push"));
                peer.Send(Zero);
                Assert.That(Expect(psyne), Is.EqualTo(Multi("push")));
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                break;

            case (ST.Req, ST.Rep):
                peer.StartEcho();
                for (int i = 0; i < 3; i++)
                {
                    Send(psyne, Multi($"request {i}"));
                    Assert.That(Expect(psyne), Is.EqualTo(Multi($"request {i}")), "the reply, without the envelope");
                }
                Send(psyne, Zero);
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                break;

            case (ST.Rep, ST.Req):
                for (int i = 0; i < 3; i++)
                {
                    peer.Send(Multi($"request {i}"));
                    Assert.That(Expect(psyne), Is.EqualTo(Multi($"request {i}")), "the request, without the envelope");
                    Send(psyne, Multi($"reply {i}"));
                    Assert.That(peer.Receive(), Is.EqualTo(Multi($"reply {i}")));
                }
                peer.Send(Zero);
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
                break;

            case (ST.Req, ST.Router):
            {
                Send(psyne, Multi("request"));
                List<byte[]> request = peer.Receive();
                Assert.That(request, Is.EqualTo((byte[][])[PsyneId, [], .. Multi("request")]), "ROUTER sees REQ's identity and the empty delimiter");
                peer.Send([PsyneId, [], .. Multi("reply")]);
                Assert.That(Expect(psyne), Is.EqualTo(Multi("reply")));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[PsyneId, [], []]));
                peer.Send(PsyneId, [], []);
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                break;
            }

            case (ST.Router, ST.Req):
            {
                peer.Send(Multi("request"));
                List<byte[]> request = Expect(psyne);
                Assert.That(request, Is.EqualTo((byte[][])[PeerId, [], .. Multi("request")]), "Psyne's ROUTER sees the peer REQ's identity and delimiter");
                Send(psyne, [PeerId, [], .. Multi("reply")]);
                Assert.That(peer.Receive(), Is.EqualTo(Multi("reply")));
                peer.Send(Zero);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[PeerId, [], []]));
                Send(psyne, PeerId, [], []);
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
                break;
            }

            case (ST.Dealer, ST.Rep):
                peer.StartEcho();
                Send(psyne, [[], .. Multi("request")]);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[[], .. Multi("request")]), "REP keeps the envelope on its reply");
                Send(psyne, [], []);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[[], []]));
                break;

            case (ST.Rep, ST.Dealer):
                peer.Send([[], .. Multi("request")]);
                Assert.That(Expect(psyne), Is.EqualTo(Multi("request")));
                Send(psyne, Multi("reply"));
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[[], .. Multi("reply")]));
                peer.Send([], []);
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[[], []]));
                break;

            case (ST.Dealer, ST.Router):
                Send(psyne, Multi("hello"));
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[PsyneId, .. Multi("hello")]), "the peer ROUTER sees Psyne's identity");
                peer.Send([PsyneId, .. Multi("back")]);
                Assert.That(Expect(psyne), Is.EqualTo(Multi("back")));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[PsyneId, []]));
                peer.Send(PsyneId, []);
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                break;

            case (ST.Router, ST.Dealer):
                peer.Send(Multi("hello"));
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[PeerId, .. Multi("hello")]), "Psyne's ROUTER sees the peer's identity");
                Send(psyne, [PeerId, .. Multi("back")]);
                Assert.That(peer.Receive(), Is.EqualTo(Multi("back")));
                peer.Send(Zero);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[PeerId, []]));
                Send(psyne, PeerId, []);
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
                break;

            case (ST.Dealer, ST.Dealer):
            case (ST.Pair, ST.Pair):
                Send(psyne, Multi("to peer"));
                Send(psyne, Zero);
                Assert.That(peer.Receive(), Is.EqualTo(Multi("to peer")));
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
                peer.Send(Multi("to psyne"));
                peer.Send(Zero);
                Assert.That(Expect(psyne), Is.EqualTo(Multi("to psyne")));
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
                break;

            case (ST.Router, ST.Router):
            {
                // A ROUTER can route only to a peer whose identity its handshake announced.
                var router = (RouterSocket)psyne;
                Eventually(() => router.PeerIdentities.Any(id => id.AsSpan().SequenceEqual(PeerId)), "the peer ROUTER's identity");
                Send(psyne, [PeerId, .. Multi("hello")]);
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[PsyneId, .. Multi("hello")]));
                peer.Send([PsyneId, .. Multi("back")]);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[PeerId, .. Multi("back")]));
                peer.Send(PsyneId, []);
                Assert.That(Expect(psyne), Is.EqualTo((byte[][])[PeerId, []]));
                break;
            }

            case (ST.Pub, ST.Sub):
            case (ST.XPub, ST.Sub):
            case (ST.Pub, ST.XSub):
            case (ST.XPub, ST.XSub):
            {
                if (peerType == ST.XSub)
                    peer.Send([1, (byte)'t']);
                if (psyneType == ST.XPub)
                {
                    List<byte[]>? subscription = null;
                    PumpUntil(peer, () => psyne.TryReceiveMultipart(TimeSpan.FromMilliseconds(5), out subscription), "the subscription to reach Psyne's XPUB");
                    Assert.That(subscription, Is.EqualTo(new[] { new byte[] { 1, (byte)'t' } }), "XPUB hands the subscription to the application");
                }
                else
                {
                    PumpUntil(peer, () => ((PubSocket)psyne).SubscriptionCounts.Sum() == 1, "the subscription to reach Psyne's PUB");
                }
                Send(psyne, Bytes("u: not subscribed"));
                Send(psyne, Multi("t: multipart"));
                Send(psyne, Bytes("t"), []);
                Send(psyne, Bytes("t: end"));
                Assert.That(peer.Receive(), Is.EqualTo(Multi("t: multipart")), "filtered on the publisher: 'u' never arrives");
                Assert.That(peer.Receive(), Is.EqualTo((byte[][])[Bytes("t"), []]));
                Assert.That(peer.Receive(), Is.EqualTo(new[] { Bytes("t: end") }));
                if (peerType == ST.XSub)
                {
                    peer.Send([0, (byte)'t']);
                    if (psyneType == ST.XPub)
                        Assert.That(Expect(psyne), Is.EqualTo(new[] { new byte[] { 0, (byte)'t' } }), "XPUB hands the cancel to the application");
                    else
                        Eventually(() => ((PubSocket)psyne).SubscriptionCounts.Sum() == 0, "the cancel to reach Psyne's PUB");
                }
                break;
            }

            case (ST.Sub, ST.Pub):
            case (ST.XSub, ST.Pub):
            {
                if (psyneType == ST.Sub)
                    ((SubSocket)psyne).Subscribe("t");
                else
                    Send(psyne, [1, (byte)'t']);
                // The subscription reaches the peer after the handshake: publish probes until one arrives.
                ProbeUntil(() => peer.Send(Bytes("t-probe")), () => psyne.TryReceiveMultipart(TimeSpan.FromMilliseconds(20), out _), "the subscription to reach the peer PUB");
                peer.Send(Bytes("u: not subscribed"));
                peer.Send(Multi("t: multipart"));
                peer.Send(Bytes("t"), []);
                peer.Send(Bytes("t: end"));
                Func<List<byte[]>, bool> probe = m => m.Count == 1 && Text(m[0]) == "t-probe";
                Assert.That(ReceiveSkipping(psyne, probe), Is.EqualTo(Multi("t: multipart")), "'u' is filtered out");
                Assert.That(ReceiveSkipping(psyne, probe), Is.EqualTo((byte[][])[Bytes("t"), []]));
                Assert.That(ReceiveSkipping(psyne, probe), Is.EqualTo(new[] { Bytes("t: end") }));
                break;
            }

            default:
                Assert.Fail($"no scenario for {psyneType}-{peerType}");
                break;
        }
    }

    public static IEnumerable<TestCaseData> LargeCases() =>
        from pair in new[] { (ST.Push, ST.Pull), (ST.Pull, ST.Push), (ST.Pair, ST.Pair), (ST.Dealer, ST.Dealer), (ST.Pub, ST.Sub), (ST.Sub, ST.Pub) }
        from kind in PeerKind.All
        from direction in new[] { Direction.PsyneBinds, Direction.PeerBinds }
        select new TestCaseData(pair.Item1, pair.Item2, kind, direction)
            .SetArgDisplayNames($"{pair.Item1.WireName()}_{pair.Item2.WireName()}", kind.ToString(), direction.ToString());

    /// <summary>10 MiB alone, 10 MiB between small and empty frames, then 0 bytes: the stream goes on after each.</summary>
    [TestCaseSource(nameof(LargeCases))]
    public void Ten_MiB_and_zero_byte_messages_arrive_intact(ST psyneType, ST peerType, PeerKind kind, Direction direction)
    {
        byte[] big = new byte[10 << 20];
        new Random(42).NextBytes(big);
        big[0] = (byte)'t'; // matches the subscription "t"
        byte[][][] messages = [[big], [Bytes("t: head"), [], big, []], [Bytes("t: after")]];
        TimeSpan patience = TimeSpan.FromSeconds(15);

        using PsyneSocket psyne = Create(psyneType, Opts());
        using IZmqTestPeer peer = Link(psyne, kind, ToZmq(peerType), direction, subscribe: peerType == ST.Sub ? [Bytes("t")] : []);

        bool psyneSends = psyneType is ST.Push or ST.Pair or ST.Dealer or ST.Pub;
        bool peerSends = peerType is ST.Push or ST.Pair or ST.Dealer or ST.Pub;
        if (psyneSends)
        {
            if (psyneType == ST.Pub)
                PumpUntil(peer, () => ((PubSocket)psyne).SubscriptionCounts.Sum() == 1, "the subscription");
            foreach (byte[][] m in messages)
                Send(psyne, m);
            if (psyneType != ST.Pub)
                Send(psyne, Zero);
            foreach (byte[][] m in messages)
                AssertSame(peer.Receive(patience), m);
            if (psyneType != ST.Pub)
                Assert.That(peer.Receive(), Is.EqualTo(Zero));
        }
        if (peerSends)
        {
            if (peerType == ST.Pub)
            {
                ((SubSocket)psyne).Subscribe("t");
                ProbeUntil(() => peer.Send(Bytes("t-probe")), () => psyne.TryReceiveMultipart(TimeSpan.FromMilliseconds(20), out _), "the subscription");
            }
            foreach (byte[][] m in messages)
                peer.Send(m);
            if (peerType != ST.Pub)
                peer.Send(Zero);
            foreach (byte[][] m in messages)
                AssertSame(ReceiveSkipping(psyne, f => f.Count == 1 && f[0].Length == 7 && Text(f[0]) == "t-probe", patience), m);
            if (peerType != ST.Pub)
                Assert.That(Expect(psyne), Is.EqualTo(Zero));
        }
    }

    // NUnit's collection equality over 10 MiB arrays is slow and prints megabytes on failure.
    private static void AssertSame(List<byte[]> actual, byte[][] expected)
    {
        Assert.That(actual.Select(f => f.Length), Is.EqualTo(expected.Select(f => f.Length)), "frame sizes");
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i].AsSpan().SequenceEqual(expected[i]), Is.True, $"frame {i}: every byte");
    }
}
