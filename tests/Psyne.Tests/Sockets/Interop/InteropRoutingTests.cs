using Psyne.Sockets;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.Interop.Interop;
using static Psyne.Tests.Sockets.SocketTestSupport;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Tests.Sockets.Interop;

/// <summary>
/// ROUTER routing by identity across implementations: Psyne's ROUTER with libzmq and NetMQ DEALERs
/// that announce identities, and a libzmq or NetMQ ROUTER with Psyne DEALERs that do.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class InteropRoutingTests
{
    private static readonly byte[] Alpha = Bytes("alpha");
    private static readonly byte[] Beta = Bytes("beta");

    public static IEnumerable<TestCaseData> DealerPairs() =>
        from pair in new[]
        {
            (PeerKind.LibZmqTcp, PeerKind.LibZmqTcp), (PeerKind.LibZmqUnix, PeerKind.LibZmqUnix),
            (PeerKind.NetMqTcp, PeerKind.NetMqTcp), (PeerKind.LibZmqTcp, PeerKind.NetMqTcp),
        }
        from direction in new[] { Direction.PsyneBinds, Direction.PeerBinds }
        select new TestCaseData(pair.Item1, pair.Item2, direction).SetArgDisplayNames(pair.Item1.ToString(), pair.Item2.ToString(), direction.ToString());

    /// <summary>Two peer DEALERs (alpha, beta); Psyne's ROUTER sees each identity and routes each reply to its dealer only.</summary>
    [TestCaseSource(nameof(DealerPairs))]
    public void Psyne_router_routes_by_the_identities_of_peer_dealers(PeerKind alphaKind, PeerKind betaKind, Direction direction)
    {
        using var router = new RouterSocket(Opts());
        using IZmqTestPeer alpha = Link(router, alphaKind, ZmqSocketType.Dealer, direction, Alpha);
        using IZmqTestPeer beta = Link(router, betaKind, ZmqSocketType.Dealer, direction, Beta);
        if (direction == Direction.PeerBinds)
        {
            // The dealers are bound: a ROUTER that connected can route only once each handshake announced the identity.
            Eventually(() => router.PeerIdentities.Count(id => id.AsSpan().SequenceEqual(Alpha) || id.AsSpan().SequenceEqual(Beta)) == 2, "both identities");
        }

        for (int i = 0; i < 3; i++)
        {
            alpha.Send(Bytes($"from alpha {i}"), []);
            beta.Send(Bytes($"from beta {i}"));
        }
        var got = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            List<byte[]> m = Expect(router);
            got.Add($"{Text(m[0])}: {Text(m[1])}" + (m.Count > 2 ? $" +{m.Count - 2}" : ""));
        }
        Assert.That(got.Where(s => s.StartsWith("alpha:")), Is.EqualTo(new[] { "alpha: from alpha 0 +1", "alpha: from alpha 1 +1", "alpha: from alpha 2 +1" }));
        Assert.That(got.Where(s => s.StartsWith("beta:")), Is.EqualTo(new[] { "beta: from beta 0", "beta: from beta 1", "beta: from beta 2" }));

        for (int i = 0; i < 3; i++)
        {
            Send(router, Beta, Bytes($"to beta {i}"), []);
            Send(router, Alpha, Bytes($"to alpha {i}"));
        }
        Send(router, Bytes("gamma"), Bytes("to nobody"));
        Assert.That(router.Statistics.MessagesDropped, Is.EqualTo(1), "an unknown identity is dropped and counted");
        for (int i = 0; i < 3; i++)
        {
            Assert.That(alpha.Receive(), Is.EqualTo(new[] { Bytes($"to alpha {i}") }));
            Assert.That(beta.Receive(), Is.EqualTo((byte[][])[Bytes($"to beta {i}"), []]));
        }
        Assert.That(alpha.TryReceive(TimeSpan.FromMilliseconds(50)), Is.Null, "alpha got only its own");
        Assert.That(beta.TryReceive(TimeSpan.FromMilliseconds(50)), Is.Null, "beta got only its own");
    }

    public static IEnumerable<TestCaseData> RouterCases() =>
        from kind in PeerKind.All
        from direction in new[] { Direction.PsyneBinds, Direction.PeerBinds }
        select new TestCaseData(kind, direction).SetArgDisplayNames(kind.ToString(), direction.ToString());

    /// <summary>A libzmq or NetMQ ROUTER routes to two Psyne DEALERs by the identities they set.</summary>
    [TestCaseSource(nameof(RouterCases))]
    public void Peer_router_routes_by_the_identities_of_psyne_dealers(PeerKind kind, Direction direction)
    {
        using var alpha = new DealerSocket(Opts(o => o.Identity = Alpha));
        using var beta = new DealerSocket(Opts(o => o.Identity = Beta));
        using IZmqTestPeer router = Link(alpha, kind, ZmqSocketType.Router, direction);
        if (direction == Direction.PsyneBinds)
            router.ConnectAlso(beta.Bind(Endpoint(kind.Transport)));
        else
            beta.Connect(router.PsyneEndpoint);

        Send(alpha, Bytes("from alpha"));
        Send(beta, Bytes("from beta"), []);
        var got = new Dictionary<string, List<byte[]>>();
        for (int i = 0; i < 2; i++)
        {
            List<byte[]> m = router.Receive();
            got[Text(m[0])] = m.Skip(1).ToList();
        }
        Assert.That(got.Keys, Is.EquivalentTo(new[] { "alpha", "beta" }), "the peer ROUTER sees the identities Psyne announced");
        Assert.That(got["alpha"], Is.EqualTo(new[] { Bytes("from alpha") }));
        Assert.That(got["beta"], Is.EqualTo((byte[][])[Bytes("from beta"), []]));

        router.Send(Beta, Bytes("to beta"));
        router.Send(Alpha, Bytes("to alpha"), []);
        router.Send(Beta, Bytes("to beta again"));
        Assert.That(Expect(beta), Is.EqualTo(new[] { Bytes("to beta") }));
        Assert.That(Expect(beta), Is.EqualTo(new[] { Bytes("to beta again") }));
        Assert.That(Expect(alpha), Is.EqualTo((byte[][])[Bytes("to alpha"), []]));
        Assert.That(alpha.TryReceive(TimeSpan.FromMilliseconds(50), out _), Is.False, "alpha got only its own");
    }
}
