using System.Diagnostics;
using Psyne.Sockets;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.Interop.Interop;
using static Psyne.Tests.Sockets.SocketTestSupport;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Tests.Sockets.Interop;

/// <summary>
/// Many subscriptions and cancels across implementations: 500 topics subscribed, every even one
/// cancelled, then a sentinel subscribed last. Because a publisher applies a peer's subscriptions in
/// the order they were sent, the sentinel getting through proves every cancel before it was applied;
/// then one message per topic checks the filter.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class InteropSubscriptionTests
{
    private const int Topics = 500;

    private static byte[] Topic(int i) => Bytes($"topic-{i:D3}");

    private static readonly byte[] Sentinel = Bytes("sentinel");

    private static bool IsProbe(List<byte[]> m) => Text(m[0]) == "sentinel";

    private static IEnumerable<int> Kept => Enumerable.Range(0, Topics).Where(i => i % 2 == 1);

    public static IEnumerable<TestCaseData> Cases() =>
        from kind in PeerKind.All
        from direction in new[] { Direction.PsyneBinds, Direction.PeerBinds }
        select new TestCaseData(kind, direction).SetArgDisplayNames(kind.ToString(), direction.ToString());

    /// <summary>Psyne's PUB filters for a libzmq or NetMQ SUB: only the 250 topics still subscribed arrive.</summary>
    [TestCaseSource(nameof(Cases))]
    public void Psyne_pub_filters_for_a_peer_sub_after_500_subscribes_and_250_cancels(PeerKind kind, Direction direction)
    {
        using var pub = new PubSocket(Opts());
        using IZmqTestPeer sub = Link(pub, kind, ZmqSocketType.Sub, direction);
        for (int i = 0; i < Topics; i++)
            sub.Subscribe(Topic(i));
        for (int i = 0; i < Topics; i += 2)
            sub.Unsubscribe(Topic(i));
        sub.Subscribe(Sentinel);

        ProbeUntil(() => pub.Send("sentinel probe"), () => sub.TryReceive(TimeSpan.FromMilliseconds(5)) is not null, "the sentinel subscription");
        Assert.That(pub.SubscriptionCounts, Is.EqualTo(new[] { Topics / 2 + 1 }), "250 topics and the sentinel, as the publisher sees them");

        for (int i = 0; i < Topics; i++)
            pub.Send(Topic(i));
        pub.Send("sentinel: end");
        var received = new List<string>();
        while (true)
        {
            List<byte[]> m = ReceiveSkipping(sub, m => Text(m[0]) == "sentinel probe");
            if (Text(m[0]) == "sentinel: end")
                break;
            received.Add(Text(m[0]));
        }
        Assert.That(received, Is.EqualTo(Kept.Select(i => Text(Topic(i)))), "exactly the topics still subscribed, in order");
    }

    /// <summary>A libzmq or NetMQ PUB filters for Psyne's SUB (and Psyne's SUB filters again): the same 250 arrive.</summary>
    [TestCaseSource(nameof(Cases))]
    public void Peer_pub_filters_for_psyne_sub_after_500_subscribes_and_250_cancels(PeerKind kind, Direction direction)
    {
        using var sub = new SubSocket(Opts());
        using IZmqTestPeer pub = Link(sub, kind, ZmqSocketType.Pub, direction);
        for (int i = 0; i < Topics; i++)
            sub.Subscribe(Topic(i));
        for (int i = 0; i < Topics; i += 2)
            sub.Unsubscribe(Topic(i));
        sub.Subscribe(Sentinel);

        ProbeUntil(() => pub.Send(Bytes("sentinel probe")), () => sub.TryReceiveMultipart(TimeSpan.FromMilliseconds(5), out _), "the sentinel subscription");
        for (int i = 0; i < Topics; i++)
            pub.Send(Topic(i));
        pub.Send(Bytes("sentinel: end"));
        var received = new List<string>();
        while (true)
        {
            List<byte[]> m = ReceiveSkipping(sub, m => Text(m[0]) == "sentinel probe");
            if (Text(m[0]) == "sentinel: end")
                break;
            received.Add(Text(m[0]));
        }
        Assert.That(received, Is.EqualTo(Kept.Select(i => Text(Topic(i)))));
    }

    /// <summary>
    /// What Psyne's SUB tells a publisher, seen by a libzmq or NetMQ XPUB: every subscribe and every
    /// cancel, in order (so the filtering above is the publisher's, not only Psyne's local filter);
    /// then the XPUB's own messages are filtered by that set.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Peer_xpub_sees_each_subscribe_and_cancel_of_psyne_sub(PeerKind kind, Direction direction)
    {
        using var sub = new SubSocket(Opts());
        var events = new EventLog(sub);
        using IZmqTestPeer xpub = Link(sub, kind, ZmqSocketType.XPub, direction);
        // Subscribe once connected, so each change travels on its own (before the handshake only the set would).
        PumpUntil(xpub, () => events.Count(SocketEventKind.HandshakeSucceeded) > 0, "the handshake");
        for (int i = 0; i < Topics; i++)
            sub.Subscribe(Topic(i));
        for (int i = 0; i < Topics; i += 2)
            sub.Unsubscribe(Topic(i));

        var expected = Enumerable.Range(0, Topics).Select(i => "+" + Text(Topic(i)))
            .Concat(Enumerable.Range(0, Topics / 2).Select(i => "-" + Text(Topic(2 * i)))).ToList();
        var seen = new List<string>();
        var deadline = Stopwatch.StartNew();
        while (seen.Count < expected.Count && deadline.Elapsed < Patience)
        {
            if (xpub.TryReceive(TimeSpan.FromMilliseconds(50)) is { } m)
                seen.Add((m[0][0] == 1 ? "+" : m[0][0] == 0 ? "-" : "?") + Text(m[0][1..]));
        }
        Assert.That(seen, Is.EqualTo(expected), "500 subscribes, then 250 cancels, each as sent");

        for (int i = 0; i < Topics; i++)
            xpub.Send(Topic(i));
        xpub.Send(Topic(Topics - 1)); // an end marker that is subscribed
        var received = new List<string>();
        for (int i = 0; i < Topics / 2 + 1; i++)
            received.Add(Text(Expect(sub)[0]));
        Assert.That(received, Is.EqualTo(Kept.Append(Topics - 1).Select(i => Text(Topic(i)))));
    }

    // ---- repeated subscriptions ---------------------------------------------------------------
    // libzmq's publishers keep a set of prefixes per subscriber (its mtrie), not a count; its
    // subscribers count, send SUBSCRIBE each time, and send CANCEL only when the last reference goes.

    public static IEnumerable<TestCaseData> Kinds() =>
        PeerKind.All.Select(k => new TestCaseData(k).SetArgDisplayNames(k.ToString()));

    /// <summary>Psyne's SUB subscribed twice and cancelled once is still subscribed, at a libzmq or NetMQ PUB too.</summary>
    [TestCaseSource(nameof(Kinds))]
    public void Psyne_sub_subscribed_twice_and_cancelled_once_still_receives_from_a_peer_pub(PeerKind kind)
    {
        using var sub = new SubSocket(Opts());
        var events = new EventLog(sub);
        using IZmqTestPeer pub = Link(sub, kind, ZmqSocketType.Pub, Direction.PeerBinds);
        // Subscribe once connected, so each change travels on its own (a bound PUB attaches when called: publish to pump it).
        ProbeUntil(() => pub.Send(Bytes("nobody wants this")), () => events.Count(SocketEventKind.HandshakeSucceeded) > 0, "the handshake");
        sub.Subscribe("t");
        sub.Subscribe("t");
        sub.Unsubscribe("t");
        sub.Subscribe(Sentinel);
        ProbeUntil(() => pub.Send(Bytes("sentinel probe")), () => sub.TryReceiveMultipart(TimeSpan.FromMilliseconds(5), out _), "the sentinel subscription");
        pub.Send(Bytes("t: still subscribed"));
        pub.Send(Bytes("sentinel: end"));
        Assert.That(Text(ReceiveSkipping(sub, m => Text(m[0]) == "sentinel probe")[0]), Is.EqualTo("t: still subscribed"),
            "one Subscribe(\"t\") is left, so the publisher must still send t");
    }

    /// <summary>A libzmq or NetMQ SUB subscribed twice and cancelled twice is unsubscribed at Psyne's PUB.</summary>
    [TestCaseSource(nameof(Kinds))]
    public void Peer_sub_subscribed_twice_and_cancelled_twice_is_gone_at_psyne_pub(PeerKind kind)
    {
        using var pub = new PubSocket(Opts());
        using IZmqTestPeer sub = Link(pub, kind, ZmqSocketType.Sub, Direction.PsyneBinds);
        sub.Subscribe(Bytes("t"));
        sub.Subscribe(Bytes("t"));
        sub.Subscribe(Bytes("u"));
        sub.Unsubscribe(Bytes("t"));
        sub.Unsubscribe(Bytes("t"));
        sub.Subscribe(Sentinel);
        ProbeUntil(() => pub.Send("sentinel probe"), () => sub.TryReceive(TimeSpan.FromMilliseconds(5)) is not null, "the sentinel subscription");
        Assert.That(pub.SubscriptionCounts, Is.EqualTo(new[] { 2 }), "u and the sentinel: t is gone for this subscriber");
    }

    /// <summary>
    /// Psyne's XPUB hands the application what libzmq's XPUB does (non-verbose): a subscription when
    /// the first subscriber asks for a prefix, a cancel when the last one drops it, cancelling or
    /// disconnecting. Checked against libzmq's own XPUB with the same two libzmq SUBs.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void Xpub_reports_first_subscriptions_and_last_cancels_as_libzmq_does(bool psyneXPub)
    {
        LibZmqPeer.RequireLibZmq();
        using var psyne = psyneXPub ? new XPubSocket(Opts()) : null;
        using LibZmqPeer? zmq = psyneXPub ? null : LibZmqPeer.Bind(ZmqSocketType.XPub);
        string endpoint = psyne?.Bind("tcp://127.0.0.1:0") ?? zmq!.PsyneEndpoint;
        string? Next(TimeSpan wait)
        {
            List<byte[]>? m = null;
            bool got = psyne is not null ? psyne.TryReceiveMultipart(wait, out m) : (m = zmq!.TryReceive(wait)) is not null;
            return got ? (m![0][0] == 1 ? "+" : "-") + Text(m[0][1..]) : null;
        }
        var seen = new List<string>();
        // What the XPUB hands out: at least `expected` reports (waiting up to Patience for them), then
        // whatever more comes within a quiet 200 ms (there must be none).
        void Drain(int expected)
        {
            var deadline = Stopwatch.StartNew();
            while (seen.Count < expected && deadline.Elapsed < Patience)
            {
                if (Next(TimeSpan.FromMilliseconds(50)) is { } s)
                    seen.Add(s);
            }
            while (Next(TimeSpan.FromMilliseconds(200)) is { } extra)
                seen.Add(extra);
        }

        using LibZmqPeer a = LibZmqPeer.Connect(ZmqSocketType.Sub, endpoint);
        LibZmqPeer b = LibZmqPeer.Connect(ZmqSocketType.Sub, endpoint);
        try
        {
            a.Socket.Subscribe("t");
            b.Socket.Subscribe("t");
            b.Socket.Subscribe("u");
            Drain(2);
            Assert.That(seen, Is.EquivalentTo(new[] { "+t", "+u" }), "t once, though both asked");
            seen.Clear();
            a.Socket.Unsubscribe("t");
            Drain(0);
            Assert.That(seen, Is.Empty, "b still wants t");
            b.Dispose(); // b leaves holding t and u
            Drain(2);
            Assert.That(seen, Is.EquivalentTo(new[] { "-t", "-u" }), "nobody wants t or u any more");
        }
        finally
        {
            b.Dispose();
        }
    }
}
