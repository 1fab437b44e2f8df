using System.Diagnostics;
using System.Text;
using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// The peers Psyne's sockets are tested against, proven against each other first: libzmq and
/// NetMQ over loopback tcp in both directions (one binds, the other connects), and libzmq with
/// itself over ipc (a Unix socket, Psyne's unix:///path). If these fail, the peers are wrong,
/// not Psyne.
/// </summary>
[TestFixture]
public class PeerInteropTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(byte[] b) => Encoding.UTF8.GetString(b);

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void Push_to_pull_keeps_every_message_in_order(string pullSide, string pushSide)
    {
        using IZmqTestPeer pull = ZmqTestPeer.Open(pullSide, ZmqSocketType.Pull);
        using IZmqTestPeer push = ZmqTestPeer.Open(pushSide, ZmqSocketType.Push, pull.Endpoint);
        for (int i = 0; i < 200; i++)
            push.Send(new byte[i % 40].Select((_, j) => (byte)(i + j)).ToArray());
        for (int i = 0; i < 200; i++)
        {
            List<byte[]> message = pull.Receive();
            Assert.That(message, Has.Count.EqualTo(1));
            Assert.That(message[0], Is.EqualTo(new byte[i % 40].Select((_, j) => (byte)(i + j)).ToArray()), $"message {i}");
        }
    }

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void Req_gets_each_reply_from_rep(string repSide, string reqSide)
    {
        using IZmqTestPeer rep = ZmqTestPeer.Open(repSide, ZmqSocketType.Rep);
        rep.StartEcho();
        using IZmqTestPeer req = ZmqTestPeer.Open(reqSide, ZmqSocketType.Req, rep.Endpoint);
        for (int i = 0; i < 20; i++)
        {
            req.Send(B($"request {i}"), B("second frame"));
            List<byte[]> reply = req.Receive();
            Assert.That(reply.Select(S), Is.EqualTo(new[] { $"request {i}", "second frame" }), "REP strips and restores the envelope; REQ sees only the body");
        }
    }

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void Sub_receives_only_the_topics_it_subscribed_to(string pubSide, string subSide)
    {
        using IZmqTestPeer pub = ZmqTestPeer.Open(pubSide, ZmqSocketType.Pub);
        using IZmqTestPeer sub = ZmqTestPeer.Open(subSide, ZmqSocketType.Sub, pub.Endpoint, subscribe: B("weather"));

        // Subscriptions travel to the publisher after the connection is up: publish until one arrives.
        var deadline = Stopwatch.StartNew();
        List<byte[]>? first = null;
        while (first is null && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            pub.Send(B("news: ignored"));
            pub.Send(B("weather: probe"));
            first = sub.TryReceive(TimeSpan.FromMilliseconds(20));
        }
        Assert.That(first, Is.Not.Null, "no subscribed message reached the subscriber within 5 s");

        for (int i = 0; i < 10; i++)
        {
            pub.Send(B($"news {i}"));
            pub.Send(B("weather"), B($"report {i}"));
        }
        pub.Send(B("weather: end"));

        var received = new List<List<byte[]>>();
        while (true)
        {
            List<byte[]> message = sub.Receive();
            if (S(message[0]) == "weather: end")
                break;
            received.Add(message);
        }
        Assert.That(received.Select(m => S(m[0])), Is.All.StartsWith("weather"), "nothing unsubscribed leaks through");
        List<List<byte[]>> reports = received.Where(m => m.Count == 2).ToList();
        Assert.That(reports.Select(m => S(m[1])), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"report {i}")), "multipart publications arrive whole and in order");
    }

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void Router_sees_the_dealer_identity_and_routes_the_reply_back(string routerSide, string dealerSide)
    {
        using IZmqTestPeer router = ZmqTestPeer.Open(routerSide, ZmqSocketType.Router);
        using IZmqTestPeer dealer = ZmqTestPeer.Open(dealerSide, ZmqSocketType.Dealer, router.Endpoint, identity: B("dealer-7"));
        dealer.Send(B("hello"), B("there"));
        List<byte[]> request = router.Receive();
        Assert.That(request.Select(S), Is.EqualTo(new[] { "dealer-7", "hello", "there" }), "ROUTER prefixes the routing id the dealer announced");

        router.Send(B("dealer-7"), B("world"));
        Assert.That(dealer.Receive().Select(S), Is.EqualTo(new[] { "world" }), "ROUTER strips the routing id it routed by");
    }

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void Multipart_messages_keep_empty_frames(string pullSide, string pushSide)
    {
        using IZmqTestPeer pull = ZmqTestPeer.Open(pullSide, ZmqSocketType.Pull);
        using IZmqTestPeer push = ZmqTestPeer.Open(pushSide, ZmqSocketType.Push, pull.Endpoint);
        byte[][] frames = [[], B("a"), [], B("bcd"), []];
        push.Send(frames);
        push.Send(Array.Empty<byte>());
        Assert.That(pull.Receive(), Is.EqualTo(frames));
        Assert.That(pull.Receive(), Is.EqualTo(new[] { Array.Empty<byte>() }), "a message of one empty frame");
    }

    [TestCase(ZmqTestPeer.LibZmq, ZmqTestPeer.NetMq)]
    [TestCase(ZmqTestPeer.NetMq, ZmqTestPeer.LibZmq)]
    public void A_10_MiB_message_arrives_intact(string pullSide, string pushSide)
    {
        using IZmqTestPeer pull = ZmqTestPeer.Open(pullSide, ZmqSocketType.Pull);
        using IZmqTestPeer push = ZmqTestPeer.Open(pushSide, ZmqSocketType.Push, pull.Endpoint);
        byte[] big = new byte[10 << 20];
        new Random(10).NextBytes(big);
        push.Send(big);
        push.Send(B("after"));
        List<byte[]> message = pull.Receive(TimeSpan.FromSeconds(10));
        Assert.That(message, Has.Count.EqualTo(1));
        Assert.That(message[0].Length, Is.EqualTo(big.Length));
        Assert.That(message[0].AsSpan().SequenceEqual(big), "every byte");
        Assert.That(S(pull.Receive()[0]), Is.EqualTo("after"), "the stream goes on after a long frame");
    }

    [Test]
    public void Libzmq_talks_to_itself_over_a_unix_socket_named_as_psyne_names_it()
    {
        string path = Path.Combine(Path.GetTempPath(), $"psyne-zmq-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        string psyneUri = "unix://" + path;
        try
        {
            using LibZmqPeer pull = LibZmqPeer.Bind(ZmqSocketType.Pull, psyneUri);
            Assert.That(pull.Endpoint, Is.EqualTo("ipc://" + path));
            Assert.That(pull.PsyneEndpoint, Is.EqualTo(psyneUri));
            Assert.That(File.Exists(path), "libzmq created the socket file");
            using LibZmqPeer push = LibZmqPeer.Connect(ZmqSocketType.Push, psyneUri);
            push.Send(B("over"), [], B("ipc"));
            Assert.That(pull.Receive().Select(S), Is.EqualTo(new[] { "over", "", "ipc" }));

            using LibZmqPeer rep = LibZmqPeer.Bind(ZmqSocketType.Rep, psyneUri + ".rep").StartEcho();
            using LibZmqPeer req = LibZmqPeer.Connect(ZmqSocketType.Req, rep.Endpoint);
            req.Send(B("ping"));
            Assert.That(S(req.Receive()[0]), Is.EqualTo("ping"));
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".rep");
        }
    }
}
