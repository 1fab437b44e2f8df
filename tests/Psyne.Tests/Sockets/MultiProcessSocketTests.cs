using System.Diagnostics;
using Psyne.Benchmarks.Peers;
using Psyne.Sockets;
using Psyne.Tests.Messaging;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets;

/// <summary>Sockets between real processes: the CLI's hidden <c>socket-peer</c> is the other end.</summary>
[TestFixture("ipc")]
[TestFixture("unix")]
[TestFixture("tcp")]
[CancelAfter(120_000)]
public class MultiProcessSocketTests(string transport)
{
    [Test]
    public void ChildPush_DeliversEveryMessageInOrder()
    {
        using var pull = new PullSocket(Options());
        string ep = pull.Bind(Endpoint(transport));
        const int count = 200_000;
        using PeerProcess child = PeerProcess.StartCommand("socket-peer", "push", ep, "--count", count.ToString(), "--size", "48");
        child.WaitReady();
        for (int i = 0; i < count; i++)
        {
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame f), Is.True, $"message {i} missing; child stderr:\n{child.Stderr}");
            Assert.That(SequencedPayload.Check(f.Data, (ulong)i), Is.True, $"message {i} damaged or out of order");
        }
        Assert.That(child.WaitForExit(), Is.Zero, child.Stderr);
    }

    [Test]
    public void ChildPull_ReceivesALargeStreamIntact()
    {
        using var push = new PushSocket(Options());
        string ep = push.Bind(Endpoint(transport));
        const int count = 300;
        using PeerProcess child = PeerProcess.StartCommand("socket-peer", "pull", ep, "--count", count.ToString());
        child.WaitReady();
        byte[] payload = new byte[256 * 1024];
        for (int i = 0; i < count; i++)
        {
            SequencedPayload.Fill(payload, (ulong)i);
            push.Send(payload);
        }
        Assert.That(child.ReadLine(), Is.EqualTo($"received {count} errors 0"));
        Assert.That(child.WaitForExit(), Is.Zero, child.Stderr);
    }

    [Test]
    public void KilledReplier_IsReportedAsDisconnected_WithinOneSecond_AndTheSocketRecovers()
    {
        using var req = new ReqSocket(Options(o => o.ReqRelaxed = true));
        var disconnected = new ManualResetEventSlim();
        req.Events += (_, e) =>
        {
            if (e.Kind == SocketEventKind.Disconnected)
                disconnected.Set();
        };
        string ep = Endpoint(transport);
        if (transport == "tcp")
        {
            // The child binds; tcp needs a known port, so take a free one first.
            using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            ep = $"tcp://127.0.0.1:{((System.Net.IPEndPoint)probe.LocalEndpoint).Port}";
        }
        using (PeerProcess child = PeerProcess.StartCommand("socket-peer", "rep", ep, "--bind"))
        {
            Assert.That(child.ReadLine(), Does.StartWith("bound"));
            child.WaitReady();
            req.Connect(ep);
            req.Send("hello");
            Assert.That(ExpectText(req), Is.EqualTo("hello"));
            child.Kill();
            var clock = Stopwatch.StartNew();
            Assert.That(disconnected.Wait(TimeSpan.FromSeconds(5)), Is.True, "no Disconnected event after kill -9");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
        }
        // A new replier on the same endpoint: the REQ reconnects by itself.
        using PeerProcess second = PeerProcess.StartCommand("socket-peer", "rep", ep, "--bind");
        Assert.That(second.ReadLine(), Does.StartWith("bound"));
        second.WaitReady();
        req.Send("again");
        Assert.That(ExpectText(req), Is.EqualTo("again"));
    }
}
