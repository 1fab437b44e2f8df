using Psyne.Sockets;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets;

/// <summary>Every pattern between two Psyne sockets, over each transport.</summary>
[TestFixture("inproc")]
[TestFixture("tcp")]
[TestFixture("unix")]
[TestFixture("ipc")]
[CancelAfter(60_000)]
public class SocketPatternTests(string transport)
{
    [Test]
    public void PushPull_DeliversEveryMessageInOrder()
    {
        using var pull = new PullSocket(Options());
        string ep = pull.Bind(Endpoint(transport));
        using var push = new PushSocket(Options());
        push.Connect(ep);
        const int n = 20_000;
        var sender = Task.Run(() =>
        {
            Span<byte> buf = stackalloc byte[8];
            for (int i = 0; i < n; i++)
            {
                BitConverter.TryWriteBytes(buf, (long)i);
                push.Send(buf);
            }
        });
        for (int i = 0; i < n; i++)
        {
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame f), Is.True, $"message {i} missing");
            Assert.That(BitConverter.ToInt64(f.Data), Is.EqualTo(i));
            Assert.That(f.More, Is.False);
        }
        sender.Wait(Patience);
    }

    [Test]
    public void Multipart_WithEmptyAndLargeFrames_ArrivesWhole()
    {
        using var pull = new PullSocket(Options());
        string ep = pull.Bind(Endpoint(transport));
        using var push = new PushSocket(Options());
        push.Connect(ep);
        byte[] big = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(big);
        push.SendMultipart([Bytes("head"), [], big, Bytes("tail")]);
        List<byte[]> frames = Expect(pull);
        Assert.That(frames, Has.Count.EqualTo(4));
        Assert.That(Text(frames[0]), Is.EqualTo("head"));
        Assert.That(frames[1], Is.Empty);
        Assert.That(frames[2], Is.EqualTo(big));
        Assert.That(Text(frames[3]), Is.EqualTo("tail"));
    }

    [Test]
    public void ReqRep_RoundTrips()
    {
        using var rep = new RepSocket(Options());
        string ep = rep.Bind(Endpoint(transport));
        using var req = new ReqSocket(Options());
        req.Connect(ep);
        var server = Task.Run(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                string q = rep.ReceiveString();
                rep.Send($"re:{q}");
            }
        });
        for (int i = 0; i < 100; i++)
        {
            req.Send($"q{i}");
            Assert.That(ExpectText(req), Is.EqualTo($"re:q{i}"));
        }
        Assert.That(server.Wait(Patience), Is.True);
    }

    [Test]
    public void Req_SendTwice_IsAStateError_UnlessReset()
    {
        using var rep = new RepSocket(Options());
        string ep = rep.Bind(Endpoint(transport));
        using var req = new ReqSocket(Options());
        req.Connect(ep);
        req.Send("first");
        Assert.Throws<InvalidOperationException>(() => req.Send("second"));
        req.Reset();
        req.Send("second");
        Assert.That(rep.ReceiveString(), Is.EqualTo("first"));
    }

    [Test]
    public void ReqCorrelate_DiscardsTheReplyToAnAbandonedRequest()
    {
        using var rep = new RepSocket(Options());
        string ep = rep.Bind(Endpoint(transport));
        using var req = new ReqSocket(Options(o => { o.ReqRelaxed = true; o.ReqCorrelate = true; }));
        req.Connect(ep);
        req.Send("one");
        Assert.That(rep.ReceiveString(), Is.EqualTo("one"));
        req.Send("two"); // abandons "one"
        rep.Send("reply-to-one");
        Assert.That(rep.ReceiveString(), Is.EqualTo("two"));
        rep.Send("reply-to-two");
        Assert.That(ExpectText(req), Is.EqualTo("reply-to-two"));
    }

    [Test]
    public void PubSub_FiltersByPrefix_AndHonoursCancel()
    {
        using var pub = new PubSocket(Options());
        string ep = pub.Bind(Endpoint(transport));
        using var sub = new SubSocket(Options());
        sub.Subscribe("weather.");
        sub.Subscribe("news");
        sub.Connect(ep);
        Eventually(() => pub.SubscriptionCounts.Sum() == 2, "both subscriptions to reach the publisher");
        pub.Send("sports.score 1");
        pub.Send("weather.rain");
        pub.Send("news.today");
        Assert.That(ExpectText(sub), Is.EqualTo("weather.rain"));
        Assert.That(ExpectText(sub), Is.EqualTo("news.today"));
        sub.Unsubscribe("news");
        Eventually(() => pub.SubscriptionCounts.Sum() == 1, "the cancel to reach the publisher");
        pub.Send("news.tomorrow");
        pub.Send("weather.sun");
        Assert.That(ExpectText(sub), Is.EqualTo("weather.sun"));
    }

    [Test]
    public void Sub_SubscribedTwice_StaysSubscribedUntilTheSecondCancel()
    {
        using var pub = new PubSocket(Options());
        string ep = pub.Bind(Endpoint(transport));
        using var sub = new SubSocket(Options());
        sub.Subscribe("t");
        sub.Connect(ep);
        sub.Subscribe("t");
        Eventually(() => pub.SubscriptionCounts.Sum() == 1, "the subscription (a set at the publisher)");
        sub.Unsubscribe("t");
        sub.Subscribe("probe");
        Eventually(() => pub.SubscriptionCounts.Sum() == 2, "the probe subscription, after the first cancel");
        pub.Send("t: still wanted");
        Assert.That(ExpectText(sub), Is.EqualTo("t: still wanted"));
        sub.Unsubscribe("t");
        Eventually(() => pub.SubscriptionCounts.Sum() == 1, "the last cancel");
    }

    [Test]
    public void XPub_SeesSubscriptions_AndXSub_SubscribesByMessage()
    {
        using var xpub = new XPubSocket(Options());
        string ep = xpub.Bind(Endpoint(transport));
        using var xsub = new XSubSocket(Options());
        xsub.Connect(ep);
        xsub.Send([1, (byte)'a', (byte)'b']);
        List<byte[]> sub = Expect(xpub);
        Assert.That(sub[0], Is.EqualTo(new byte[] { 1, (byte)'a', (byte)'b' }));
        xpub.Send("abc");
        xpub.Send("xyz");
        Assert.That(ExpectText(xsub), Is.EqualTo("abc"));
        xsub.Send([0, (byte)'a', (byte)'b']);
        Assert.That(Expect(xpub)[0], Is.EqualTo(new byte[] { 0, (byte)'a', (byte)'b' }));
    }

    [Test]
    public void RouterDealer_RoutesByIdentity()
    {
        using var router = new RouterSocket(Options());
        string ep = router.Bind(Endpoint(transport));
        using var d1 = new DealerSocket(Options(o => o.Identity = Bytes("alpha")));
        using var d2 = new DealerSocket(Options(o => o.Identity = Bytes("beta")));
        d1.Connect(ep);
        d2.Connect(ep);
        d1.Send("from-alpha");
        d2.Send("from-beta");
        var got = new Dictionary<string, string>();
        for (int i = 0; i < 2; i++)
        {
            List<byte[]> m = Expect(router);
            Assert.That(m, Has.Count.EqualTo(2));
            got[Text(m[0])] = Text(m[1]);
        }
        Assert.That(got, Is.EqualTo(new Dictionary<string, string> { ["alpha"] = "from-alpha", ["beta"] = "from-beta" }));
        router.SendMultipart([Bytes("beta"), Bytes("to-beta")]);
        router.SendMultipart([Bytes("alpha"), Bytes("to-alpha")]);
        Assert.That(ExpectText(d2), Is.EqualTo("to-beta"));
        Assert.That(ExpectText(d1), Is.EqualTo("to-alpha"));
    }

    [Test]
    public void Router_UnknownIdentity_DropsCounted_OrThrowsWhenMandatory()
    {
        long metered = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Psyne" && instrument.Name == "psyne.socket.drops")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "psyne.socket.type" && (string?)tag.Value == "ROUTER")
                    Interlocked.Add(ref metered, value);
            }
        });
        listener.Start();
        using var router = new RouterSocket(Options());
        router.Bind(Endpoint(transport));
        router.SendMultipart([Bytes("nobody"), Bytes("lost")]);
        Assert.That(router.Statistics.MessagesDropped, Is.EqualTo(1));
        Assert.That(Interlocked.Read(ref metered), Is.EqualTo(1), "the drop reaches the psyne.socket.drops counter of the Psyne meter");
        router.Options.RouterMandatory = true;
        Assert.Throws<PsyneNotFoundException>(() => router.Send(Bytes("nobody"), more: true));
    }

    [Test]
    public void DealerRep_ServesEnvelopedRequests()
    {
        using var rep = new RepSocket(Options());
        string ep = rep.Bind(Endpoint(transport));
        using var dealer = new DealerSocket(Options());
        dealer.Connect(ep);
        dealer.SendMultipart([[], Bytes("ping")]);
        Assert.That(rep.ReceiveString(), Is.EqualTo("ping"));
        rep.Send("pong");
        List<byte[]> reply = Expect(dealer);
        Assert.That(reply, Has.Count.EqualTo(2));
        Assert.That(reply[0], Is.Empty);
        Assert.That(Text(reply[1]), Is.EqualTo("pong"));
    }

    [Test]
    public void Pair_TalksBothWays()
    {
        using var a = new PairSocket(Options());
        string ep = a.Bind(Endpoint(transport));
        using var b = new PairSocket(Options());
        b.Connect(ep);
        b.Send("hello");
        Assert.That(ExpectText(a), Is.EqualTo("hello"));
        a.Send("back");
        Assert.That(ExpectText(b), Is.EqualTo("back"));
    }

    [Test]
    public void Push_WaitsAtTheHighWaterMark_AndLosesNothing()
    {
        using var pull = new PullSocket(Options(o => o.ReceiveHighWatermark = 10));
        string ep = pull.Bind(Endpoint(transport));
        using var push = new PushSocket(Options(o => o.SendHighWatermark = 10));
        push.Connect(ep);
        int sent = 0;
        while (push.TrySend(BitConverter.GetBytes(sent), more: false, TimeSpan.FromMilliseconds(200)))
            sent++;
        // Both marks plus whatever the kernel's socket buffers hold (megabytes on loopback).
        Assert.That(sent, Is.GreaterThanOrEqualTo(10).And.LessThan(20_000_000), "the sender must stop at the marks, not queue without bound");
        for (int i = 0; i < sent; i++)
        {
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame f), Is.True);
            Assert.That(BitConverter.ToInt32(f.Data), Is.EqualTo(i));
        }
    }

    [Test]
    public void Pub_DropsAtTheHighWaterMark_AndCountsIt()
    {
        using var pub = new PubSocket(Options(o => o.SendHighWatermark = 5));
        string ep = pub.Bind(Endpoint(transport));
        using var sub = new SubSocket(Options(o => o.ReceiveHighWatermark = 5));
        sub.Subscribe("");
        sub.Connect(ep);
        Eventually(() => pub.SubscriptionCounts.Sum() == 1, "the subscription");
        for (int i = 0; i < 100_000; i++)
            pub.Send(BitConverter.GetBytes(i));
        Assert.That(pub.Statistics.MessagesDropped, Is.GreaterThan(0));
        Assert.That(pub.Statistics.MessagesSent + pub.Statistics.MessagesDropped, Is.EqualTo(100_000));
        int received = 0, last = -1;
        while (sub.TryReceive(TimeSpan.FromMilliseconds(300), out ReceivedFrame f))
        {
            int v = BitConverter.ToInt32(f.Data);
            Assert.That(v, Is.GreaterThan(last), "order is kept even with drops");
            last = v;
            received++;
        }
        Assert.That(received, Is.EqualTo(pub.Statistics.MessagesSent));
    }

    [Test]
    public void Linger_DeliversWhatWasQueuedBeforeDispose()
    {
        using var pull = new PullSocket(Options(o => o.QueueBytes = 4 << 20));
        string ep = pull.Bind(Endpoint(transport));
        const int n = 50_000;
        // Marks and queue large enough that the whole stream is queued before anyone reads.
        pull.Options.ReceiveHighWatermark = n;
        using (var push = new PushSocket(Options(o => { o.Linger = TimeSpan.FromSeconds(10); o.SendHighWatermark = n; o.QueueBytes = 4 << 20; })))
        {
            push.Connect(ep);
            for (int i = 0; i < n; i++)
                push.Send(BitConverter.GetBytes(i));
        } // Dispose returns once everything is handed to the network (or, in process, to the peer's queue)
        for (int i = 0; i < n; i++)
        {
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame f), Is.True, $"message {i} lost at close");
            Assert.That(BitConverter.ToInt32(f.Data), Is.EqualTo(i));
        }
    }

    [Test]
    public void MonitorEvents_TellListeningConnectedHandshakeAndDisconnected()
    {
        var events = new System.Collections.Concurrent.ConcurrentQueue<SocketEventArgs>();
        using var pull = new PullSocket(Options());
        pull.Events += (_, e) => events.Enqueue(e);
        string ep = pull.Bind(Endpoint(transport));
        var push = new PushSocket(Options());
        push.Connect(ep);
        push.Send("x");
        Assert.That(ExpectText(pull), Is.EqualTo("x"));
        push.Dispose();
        if (transport != "inproc")
            Eventually(() => events.Any(e => e.Kind == SocketEventKind.Disconnected), "a Disconnected event");
        SocketEventKind[] kinds = [.. events.Select(e => e.Kind)];
        Assert.That(kinds, Does.Contain(SocketEventKind.Listening));
        Assert.That(kinds, Does.Contain(SocketEventKind.Accepted));
        Assert.That(kinds, Does.Contain(SocketEventKind.HandshakeSucceeded));
    }

    [Test]
    public void Heartbeats_KeepAnIdleConnectionUp()
    {
        using var pull = new PullSocket(Options(o => { o.HeartbeatInterval = TimeSpan.FromMilliseconds(50); o.HeartbeatTimeout = TimeSpan.FromMilliseconds(300); }));
        string ep = pull.Bind(Endpoint(transport));
        int disconnects = 0;
        pull.Events += (_, e) =>
        {
            if (e.Kind == SocketEventKind.Disconnected)
                Interlocked.Increment(ref disconnects);
        };
        using var push = new PushSocket(Options(o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(50)));
        push.Connect(ep);
        push.Send("before");
        Assert.That(ExpectText(pull), Is.EqualTo("before"));
        Thread.Sleep(1000); // idle for three timeouts: PINGs and PONGs must keep it alive
        push.Send("after");
        Assert.That(ExpectText(pull), Is.EqualTo("after"));
        Assert.That(Volatile.Read(ref disconnects), Is.Zero);
    }
}
