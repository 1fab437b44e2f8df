using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// The benchmark peers (benchmarks/Peers/SocketPeers.cs, NetMqPeers.cs) move and check real
/// messages: a short run of each delivers everything, in order, with nothing found wrong. No
/// timing is asserted.
/// </summary>
[TestFixture]
public class SocketBenchPeerTests
{
    private static IEnumerable<TestCaseData> ThroughputPeers()
    {
        foreach (int size in new[] { 32, 64 << 10 })
        {
            yield return new TestCaseData("libzmq", size).SetArgDisplayNames("libzmq", size.ToString());
            yield return new TestCaseData("netmq", size).SetArgDisplayNames("netmq", size.ToString());
            yield return new TestCaseData("raw", size).SetArgDisplayNames("raw", size.ToString());
            yield return new TestCaseData("psyne", size).SetArgDisplayNames("psyne", size.ToString());
            yield return new TestCaseData("psyne-unix", size).SetArgDisplayNames("psyne-unix", size.ToString());
            yield return new TestCaseData("psyne-inproc", size).SetArgDisplayNames("psyne-inproc", size.ToString());
        }
    }

    [TestCaseSource(nameof(ThroughputPeers))]
    public void A_throughput_peer_delivers_every_message(string implementation, int size)
    {
        if (implementation == "libzmq")
            LibZmqPeer.RequireLibZmq();
        using IThroughputPeer peer = implementation switch
        {
            "libzmq" => new LibZmqPushPull(size),
            "netmq" => new NetMqTcpPushPull(size),
            "psyne" => new PsyneTcpPushPull(size),
            "psyne-unix" => new PsyneUnixPushPull(size),
            "psyne-inproc" => new PsyneInprocPushPull(size),
            _ => size <= 255 ? new RawTcpFramed(size) : new RawTcpBlocks(size),
        };
        long count = size > 1024 ? 200 : 20_000;
        ThroughputResult first = SocketPeerRuns.Throughput(peer, count);
        ThroughputResult second = SocketPeerRuns.Throughput(peer, 1); // the sequence goes on across calls
        Assert.That(peer.Errors, Is.Zero);
        Assert.That(first.Messages, Is.EqualTo(count));
        Assert.That(first.Bytes, Is.EqualTo(count * size));
        Assert.That(first.MessagesPerSecond, Is.GreaterThan(0));
        Assert.That(second.Messages, Is.EqualTo(1));
        Assert.That(peer.Description, Is.Not.Empty);
    }

    [TestCase("libzmq")]
    [TestCase("netmq")]
    [TestCase("raw")]
    [TestCase("psyne")]
    public void A_round_trip_peer_answers_each_request(string implementation)
    {
        if (implementation == "libzmq")
            LibZmqPeer.RequireLibZmq();
        using IRoundTripPeer peer = implementation switch
        {
            "libzmq" => new LibZmqReqRep(32),
            "netmq" => new NetMqTcpReqRep(32),
            "psyne" => new PsyneTcpReqRep(32),
            _ => new RawTcpPingPong(),
        };
        double median = SocketPeerRuns.MedianRoundTripNanoseconds(peer, samples: 200, warmUp: 10);
        Assert.That(median, Is.GreaterThan(0));
    }

    [Test]
    public void Psyne_peers_allocate_nothing_per_message()
    {
        // Process-wide (both threads and Psyne's connection threads); less than a byte per message
        // leaves room for anything else the test host allocates meanwhile.
        const int count = 50_000;
        using (var peer = new PsyneTcpPushPull(32))
        {
            SocketPeerRuns.Throughput(peer, count); // warm: JIT, queues, pools
            long before = GC.GetTotalAllocatedBytes(precise: true);
            SocketPeerRuns.Throughput(peer, count);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.That(allocated, Is.LessThan(count), $"PUSH/PULL 32 B allocated {allocated} B for {count} messages");
        }
        using (var peer = new PsyneTcpReqRep(32))
        {
            const int trips = 5_000;
            for (int i = 0; i < trips; i++)
                peer.RoundTrip();
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < trips; i++)
                peer.RoundTrip();
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.That(allocated, Is.LessThan(trips), $"REQ/REP allocated {allocated} B for {trips} round trips");
        }
    }

    [Test]
    public void Libzmq_push_pull_also_runs_over_a_unix_socket()
    {
        LibZmqPeer.RequireLibZmq();
        string path = Path.Combine(Path.GetTempPath(), $"psyne-zmq-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        try
        {
            using var peer = new LibZmqPushPull(64, "ipc://" + path);
            Assert.That(peer.Endpoint, Is.EqualTo("ipc://" + path));
            SocketPeerRuns.Throughput(peer, 1000);
            Assert.That(peer.Errors, Is.Zero);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
