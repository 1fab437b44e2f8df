using Psyne.Sockets;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets;

/// <summary>The PLAIN mechanism between Psyne sockets, on every transport that has a handshake (inproc links have none).</summary>
[TestFixture("tcp")]
[TestFixture("unix")]
[TestFixture("ipc")]
[CancelAfter(60_000)]
public class SocketSecurityTests(string transport)
{
    [Test]
    public void PlainMechanism_AcceptsTheRightPassword_AndRefusesAWrongOne()
    {
        using var pull = new PullSocket(Options(o => { o.PlainServer = true; o.PlainAuthenticator = (u, p) => u == "alice" && p == "secret"; }));
        string ep = pull.Bind(Endpoint(transport));
        var failed = new ManualResetEventSlim();
        using var bad = new PushSocket(Options(o => { o.PlainUsername = "alice"; o.PlainPassword = "wrong"; }));
        bad.Events += (_, e) =>
        {
            if (e.Kind == SocketEventKind.HandshakeFailed)
                failed.Set();
        };
        bad.Connect(ep);
        bad.TrySend(Bytes("intruder"), more: false, TimeSpan.Zero);
        Assert.That(failed.Wait(Patience), Is.True, "the wrong password was not refused");
        using var good = new PushSocket(Options(o => { o.PlainUsername = "alice"; o.PlainPassword = "secret"; }));
        good.Connect(ep);
        good.Send("friend");
        Assert.That(ExpectText(pull), Is.EqualTo("friend"));
        Assert.That(pull.TryReceive(TimeSpan.FromMilliseconds(200), out _), Is.False, "the refused peer's message got through");
    }
}
