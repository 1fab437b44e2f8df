using System.Net.Sockets;
using System.Text;
using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// The hand-rolled ZMTP end (RawZmtp) proven against libzmq: it completes handshakes in both roles
/// and moves short, multipart and long frames; and libzmq closes the connection on the hostile
/// inputs the Psyne socket tests will also send, so "the peer closed it" is observable.
/// </summary>
[TestFixture]
public class RawZmtpTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Test]
    public void The_builders_make_the_bytes_of_rfc_37()
    {
        byte[] greeting = RawZmtp.Greeting();
        Assert.That(greeting, Has.Length.EqualTo(64));
        Assert.That(Convert.ToHexString(greeting[..12]), Is.EqualTo("FF00000000000000007F0301"));
        Assert.That(RawZmtp.MechanismOf(greeting), Is.EqualTo("NULL"));
        Assert.That(greeting[32], Is.Zero, "as-server");
        Assert.That(greeting[33..].All(b => b == 0), "filler");
        Assert.That(RawZmtp.Greeting(mechanism: "PLAIN", asServer: true)[32], Is.EqualTo(1));

        Assert.That(RawZmtp.Frame(B("hi")), Is.EqualTo(new byte[] { 0x00, 2, (byte)'h', (byte)'i' }));
        Assert.That(RawZmtp.Frame(B("hi"), more: true)[0], Is.EqualTo(0x01));
        Assert.That(RawZmtp.Frame(B("hi"), @long: true)[..9], Is.EqualTo(new byte[] { 0x02, 0, 0, 0, 0, 0, 0, 0, 2 }));
        Assert.That(RawZmtp.Frame(new byte[256])[..9], Is.EqualTo(new byte[] { 0x02, 0, 0, 0, 0, 0, 0, 1, 0 }), "over 255 bytes is long");
        Assert.That(RawZmtp.LongFrameHeader(ulong.MaxValue, RawZmtp.FlagMore), Is.EqualTo(new byte[] { 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF }));

        byte[] ready = RawZmtp.Ready("PUSH", B("id"));
        Assert.That(ready[0], Is.EqualTo(RawZmtp.FlagCommand));
        Assert.That(ready[1], Is.EqualTo(ready.Length - 2));
        Assert.That(Encoding.ASCII.GetString(ready, 2, 6), Is.EqualTo("\u0005READY"));
        IReadOnlyDictionary<string, byte[]> properties = RawZmtp.ParseMetadata(ready.AsSpan(8));
        Assert.That(properties["Socket-Type"], Is.EqualTo(B("PUSH")));
        Assert.That(properties["Identity"], Is.EqualTo(B("id")));
    }

    [Test]
    public void As_a_push_it_completes_a_handshake_with_libzmq_pull_and_delivers_three_messages()
    {
        using LibZmqPeer pull = LibZmqPeer.Bind(ZmqSocketType.Pull);
        using RawZmtp raw = RawZmtp.Connect(pull.Endpoint);
        IReadOnlyDictionary<string, byte[]> ready = raw.Handshake("PUSH");
        Assert.That(Encoding.ASCII.GetString(ready["Socket-Type"]), Is.EqualTo("PULL"));

        byte[] longPayload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        raw.Send(RawZmtp.Frame(B("one")));
        raw.SendMessage(B("two-a"), [], B("two-c"));
        raw.Send(RawZmtp.Frame(longPayload, @long: true));

        Assert.That(pull.Receive().Select(Encoding.ASCII.GetString), Is.EqualTo(new[] { "one" }));
        Assert.That(pull.Receive().Select(Encoding.ASCII.GetString), Is.EqualTo(new[] { "two-a", "", "two-c" }));
        Assert.That(pull.Receive(), Is.EqualTo(new[] { longPayload }));
    }

    [Test]
    public void As_a_pull_it_accepts_libzmq_push_and_reads_its_frames()
    {
        using TcpListener listener = RawZmtp.Listen(out string endpoint);
        try
        {
            using LibZmqPeer push = LibZmqPeer.Connect(ZmqSocketType.Push, endpoint, s => s.Identity = B("pusher"));
            using RawZmtp raw = RawZmtp.Accept(listener);
            // libzmq sends the 10-byte signature, then the rest of its greeting once it has seen ours.
            raw.Send(RawZmtp.Greeting());
            byte[] greeting = raw.ReadGreeting();
            Assert.That(greeting[10], Is.EqualTo(3), "ZMTP 3");
            Assert.That(RawZmtp.MechanismOf(greeting), Is.EqualTo("NULL"));
            raw.Send(RawZmtp.Ready("PULL"));
            ZmtpFrame ready = raw.ReadFrame();
            Assert.That(ready.CommandName, Is.EqualTo("READY"));
            IReadOnlyDictionary<string, byte[]> properties = RawZmtp.ParseMetadata(ready.CommandData);
            Assert.That(properties["Socket-Type"], Is.EqualTo(B("PUSH")));

            push.Send(B("hello"), B("world"));
            push.Send(new byte[1000]);
            Assert.That(raw.ReadMessage().Select(Encoding.ASCII.GetString), Is.EqualTo(new[] { "hello", "world" }));
            Assert.That(raw.ReadMessage(), Is.EqualTo(new[] { new byte[1000] }));
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Inputs after which libzmq (a PULL here, so a PUSH is the compatible peer) must close the connection.</summary>
    private static IEnumerable<TestCaseData> HostileHandshakes()
    {
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(mechanism: "CURVE") })
            .SetName("A greeting naming a mechanism the socket does not use is refused");
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(mechanism: "BOGUS") })
            .SetName("A greeting naming an unknown mechanism is refused");
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(), RawZmtp.Ready("PUB") })
            .SetName("READY with an incompatible socket type is refused");
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(), RawZmtp.Frame(B("data before READY")) })
            .SetName("A message frame instead of READY is refused");
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(), RawZmtp.Command("HELLO", B("who")) })
            .SetName("A command other than READY under NULL is refused");
        yield return new TestCaseData((object)new[] { RawZmtp.Greeting(), RawZmtp.Ready("PUSH"), RawZmtp.LongFrameHeader(2048) })
            .SetName("A frame over the peer's MaxMsgSize is refused");
    }

    [TestCaseSource(nameof(HostileHandshakes))]
    public void Libzmq_closes_the_connection(byte[][] sends)
    {
        using LibZmqPeer pull = LibZmqPeer.Bind(ZmqSocketType.Pull, configure: s => s.MaxMsgSize = 1024);
        using RawZmtp raw = RawZmtp.Connect(pull.Endpoint);
        foreach (byte[] bytes in sends)
            raw.TrySend(bytes);
        Assert.That(raw.WaitForClose(CloseTimeout), Is.True, "libzmq kept the connection open");
        Assert.That(pull.TryReceive(TimeSpan.FromMilliseconds(50)), Is.Null, "nothing was delivered");
    }

    [Test]
    public void A_well_behaved_connection_is_not_closed()
    {
        // The control for the hostile cases: the same steps with valid bytes keep the connection.
        using LibZmqPeer pull = LibZmqPeer.Bind(ZmqSocketType.Pull, configure: s => s.MaxMsgSize = 1024);
        using RawZmtp raw = RawZmtp.Connect(pull.Endpoint);
        raw.Handshake("PUSH");
        raw.Send(RawZmtp.Frame(new byte[1024], @long: true));
        Assert.That(pull.Receive()[0], Has.Length.EqualTo(1024));
        Assert.That(raw.WaitForClose(TimeSpan.FromMilliseconds(300)), Is.False);
    }

    [Test]
    public void A_bad_greeting_shows_as_a_failed_handshake_on_libzmq_s_monitor()
    {
        LibZmqPeer.RequireLibZmq();
        using var context = new ZmqContext();
        using ZmqSocket pull = context.Socket(ZmqSocketType.Pull);
        string endpoint = pull.Bind("tcp://127.0.0.1:*");
        using ZmqMonitor monitor = pull.Monitor(ZmqEvent.HandshakeFailedProtocol | ZmqEvent.HandshakeFailedNoDetail | ZmqEvent.HandshakeSucceeded);
        using RawZmtp raw = RawZmtp.Connect(endpoint);
        raw.TrySend(RawZmtp.Greeting(mechanism: "CURVE"));
        Assert.That(raw.WaitForClose(CloseTimeout), Is.True);
        Assert.That(monitor.TryReceive(CloseTimeout, out ZmqMonitorEvent e), Is.True, "an event");
        Assert.That(e.Event, Is.EqualTo(ZmqEvent.HandshakeFailedProtocol).Or.EqualTo(ZmqEvent.HandshakeFailedNoDetail));
    }
}
