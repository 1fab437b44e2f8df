using System.Text;
using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>The libzmq wrapper itself (benchmarks/Peers/LibZmq.cs): endpoints, options, timeouts and errors.</summary>
[TestFixture]
public class LibZmqWrapperTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [SetUp]
    public void RequireLibZmq() => LibZmqPeer.RequireLibZmq();

    [Test]
    public void The_library_reports_a_version_4_or_later()
    {
        Assert.That(LibZmq.IsAvailable, Is.True);
        Assert.That(LibZmq.UnavailableReason, Is.Null);
        Assert.That(LibZmq.Version.Major, Is.GreaterThanOrEqualTo(4));
    }

    [Test]
    public void Binding_a_wildcard_port_returns_the_port_chosen_and_unbind_releases_it()
    {
        using var context = new ZmqContext();
        using ZmqSocket pull = context.Socket(ZmqSocketType.Pull);
        string endpoint = pull.Bind("tcp://127.0.0.1:*");
        Assert.That(endpoint, Does.Match(@"^tcp://127\.0\.0\.1:\d+$"));
        Assert.That(int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]), Is.GreaterThan(0));
        pull.Unbind(endpoint);
        Assert.That(Assert.Throws<ZmqException>(() => pull.Unbind(endpoint))!.Errno, Is.EqualTo(2), "ENOENT: no longer bound");
        // libzmq closes the listener on its I/O thread: the port is free again shortly after.
        using ZmqSocket again = context.Socket(ZmqSocketType.Pull);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Assert.That(again.Bind(endpoint), Is.EqualTo(endpoint));
                break;
            }
            catch (ZmqException e) when (e.Errno == 98 && waited.Elapsed < TimeSpan.FromSeconds(2))
            {
                Thread.Sleep(10);
            }
        }
    }

    [Test]
    public void Options_read_back_what_was_set()
    {
        using var context = new ZmqContext();
        using ZmqSocket s = context.Socket(ZmqSocketType.Dealer);
        Assert.That(s.Linger, Is.EqualTo(2000), "the wrapper's bounded default");
        s.SndHwm = 123;
        s.RcvHwm = 456;
        s.Linger = 0;
        s.RcvTimeo = 250;
        s.SndTimeo = 350;
        s.Identity = B("me");
        s.ReconnectIvl = 20;
        s.MaxMsgSize = 1 << 20;
        s.Immediate = true;
        s.HeartbeatIvl = 1000;
        s.HeartbeatTimeout = 3000;
        s.HeartbeatTtl = 5000;
        Assert.Multiple(() =>
        {
            Assert.That(s.Type, Is.EqualTo(ZmqSocketType.Dealer));
            Assert.That(s.GetInt32Option(LibZmq.ZMQ_TYPE), Is.EqualTo((int)ZmqSocketType.Dealer));
            Assert.That(s.SndHwm, Is.EqualTo(123));
            Assert.That(s.RcvHwm, Is.EqualTo(456));
            Assert.That(s.Linger, Is.EqualTo(0));
            Assert.That(s.RcvTimeo, Is.EqualTo(250));
            Assert.That(s.SndTimeo, Is.EqualTo(350));
            Assert.That(s.Identity, Is.EqualTo(B("me")));
            Assert.That(s.ReconnectIvl, Is.EqualTo(20));
            Assert.That(s.MaxMsgSize, Is.EqualTo(1 << 20));
            Assert.That(s.Immediate, Is.True);
            Assert.That(s.HeartbeatIvl, Is.EqualTo(1000));
            Assert.That(s.HeartbeatTimeout, Is.EqualTo(3000));
            Assert.That(s.HeartbeatTtl, Is.EqualTo(5000));
            Assert.That(s.Mechanism, Is.Zero, "NULL");
        });
        s.PlainServer = true;
        Assert.That(s.PlainServer, Is.True);
        Assert.That(s.Mechanism, Is.EqualTo(1), "PLAIN");
        using ZmqSocket client = context.Socket(ZmqSocketType.Dealer);
        client.PlainUsername = "admin";
        client.PlainPassword = "secret";
        Assert.That(client.PlainUsername, Is.EqualTo("admin"));
        Assert.That(client.PlainPassword, Is.EqualTo("secret"));
        Assert.That(client.PlainServer, Is.False);
    }

    [Test]
    public void A_timed_receive_returns_false_and_a_blocking_one_throws_a_timeout()
    {
        using var context = new ZmqContext();
        using ZmqSocket pull = context.Socket(ZmqSocketType.Pull);
        pull.Bind("tcp://127.0.0.1:*");
        pull.RcvTimeo = 30;
        Assert.That(pull.TryReceive(new byte[8], out int length, out bool more), Is.False);
        Assert.That((length, more), Is.EqualTo((0, false)));
        Assert.That(pull.TryReceiveFrame(out byte[]? frame, out _, dontWait: true), Is.False);
        Assert.That(frame, Is.Null);
        Assert.That(pull.ReceiveMultipart(TimeSpan.FromMilliseconds(30)), Is.Null);
        Assert.Throws<TimeoutException>(() => pull.Receive(new byte[8], out _));

        using ZmqSocket push = context.Socket(ZmqSocketType.Push);
        Assert.That(push.Send(B("nobody"), dontWait: true), Is.False, "PUSH without a peer would block: EAGAIN is false, not an exception");
    }

    [Test]
    public void Receive_into_spans_reports_length_and_more_and_refuses_a_short_buffer()
    {
        using LibZmqPeer pull = LibZmqPeer.Bind(ZmqSocketType.Pull);
        using LibZmqPeer push = LibZmqPeer.Connect(ZmqSocketType.Push, pull.Endpoint);
        push.Send(B("abc"), B("defgh"));
        push.Send(new byte[100]);
        Span<byte> buffer = stackalloc byte[16];
        Assert.That(pull.Socket.Receive(buffer, out bool more), Is.EqualTo(3));
        Assert.That(more, Is.True);
        Assert.That(Encoding.ASCII.GetString(buffer[..3]), Is.EqualTo("abc"));
        Assert.That(pull.Socket.Receive(buffer, out more), Is.EqualTo(5));
        Assert.That(more, Is.False);
        var e = Assert.Throws<ZmqException>(() => pull.Socket.Receive(new byte[16]));
        Assert.That(e!.Message, Does.Contain("100 bytes").And.Contain("16 bytes"));
    }

    [Test]
    public void Failures_carry_libzmq_s_own_message()
    {
        using var context = new ZmqContext();
        using ZmqSocket s = context.Socket(ZmqSocketType.Pull);
        var bad = Assert.Throws<ZmqException>(() => s.Bind("bogus://nowhere"));
        Assert.That(bad!.Errno, Is.EqualTo(93), "EPROTONOSUPPORT");
        Assert.That(bad.Message, Does.Contain("zmq_bind(bogus://nowhere)").And.Contain("Protocol not supported"));

        using ZmqSocket req = context.Socket(ZmqSocketType.Req);
        req.Linger = 0; // the request queued for nobody must not hold the context open
        req.Connect("tcp://127.0.0.1:1");
        Assert.That(req.Send(B("one"), dontWait: true), Is.True, "queued on the pipe the connect made");
        var fsm = Assert.Throws<ZmqException>(() => req.Send(B("two"), dontWait: true));
        Assert.That(fsm!.Errno, Is.EqualTo(LibZmq.EFSM), "REQ refuses a second request before the reply");
    }

    [Test]
    public void Router_mandatory_refuses_an_unknown_peer_and_relaxed_req_may_ask_again()
    {
        using var context = new ZmqContext();
        using ZmqSocket router = context.Socket(ZmqSocketType.Router);
        router.SetRouterMandatory(true);
        router.Bind("tcp://127.0.0.1:*");
        var e = Assert.Throws<ZmqException>(() => router.SendMultipart(B("nobody"), B("hello")));
        Assert.That(e!.Errno, Is.EqualTo(LibZmq.EHOSTUNREACH));

        using LibZmqPeer rep = LibZmqPeer.Bind(ZmqSocketType.Rep).StartEcho();
        using LibZmqPeer req = LibZmqPeer.Connect(ZmqSocketType.Req, rep.Endpoint, s =>
        {
            s.SetReqRelaxed(true);
            s.SetReqCorrelate(true);
        });
        req.Send(B("first"));
        req.Send(B("second")); // allowed: the first reply is dropped by correlation
        List<byte[]> reply = req.Receive();
        Assert.That(Encoding.ASCII.GetString(reply[^1]), Is.EqualTo("second"));
    }

    [Test]
    public void Plain_credentials_are_checked_by_a_zap_handler()
    {
        using LibZmqPeer server = LibZmqPeer.Bind(ZmqSocketType.Pull, configure: s => s.PlainServer = true);
        using ZmqZapHandler zap = ZmqZapHandler.Plain(server.Context, new Dictionary<string, string> { ["admin"] = "secret" });
        using (LibZmqPeer intruder = LibZmqPeer.Connect(ZmqSocketType.Push, server.Endpoint, s =>
        {
            s.PlainUsername = "admin";
            s.PlainPassword = "guess";
        }))
        {
            intruder.Socket.Send(B("let me in"), dontWait: true);
            Assert.That(server.TryReceive(TimeSpan.FromMilliseconds(300)), Is.Null, "a wrong password delivers nothing");
        }
        using LibZmqPeer client = LibZmqPeer.Connect(ZmqSocketType.Push, server.Endpoint, s =>
        {
            s.PlainUsername = "admin";
            s.PlainPassword = "secret";
        });
        client.Send(B("authenticated"));
        Assert.That(Encoding.ASCII.GetString(server.Receive()[0]), Is.EqualTo("authenticated"));
        Assert.That(zap.Refused, Is.GreaterThanOrEqualTo(1));
        Assert.That(zap.Accepted, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void The_monitor_reports_the_handshake()
    {
        using var context = new ZmqContext();
        using ZmqSocket pull = context.Socket(ZmqSocketType.Pull);
        string endpoint = pull.Bind("tcp://127.0.0.1:*");
        using ZmqMonitor monitor = pull.Monitor();
        using ZmqSocket push = context.Socket(ZmqSocketType.Push);
        push.Connect(endpoint);
        Assert.That(monitor.WaitFor(ZmqEvent.HandshakeSucceeded, TimeSpan.FromSeconds(5), out ZmqMonitorEvent e), Is.True);
        Assert.That(e.Endpoint, Does.StartWith("tcp://127.0.0.1:"));
    }

    [TestCase("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5555")]
    [TestCase("tcp://127.0.0.1:0", "tcp://127.0.0.1:*")]
    public void Psyne_uris_map_to_libzmq_endpoints(string psyne, string libzmq)
    {
        Assert.That(ZmqEndpoint.ToLibZmq(psyne), Is.EqualTo(libzmq));
        if (!libzmq.EndsWith('*'))
            Assert.That(ZmqEndpoint.FromLibZmq(libzmq), Is.EqualTo(psyne));
    }

    [Test]
    public void A_unix_socket_path_maps_to_libzmq_ipc()
    {
        string path = Path.Combine(Path.GetTempPath(), "a.sock");
        Psyne_uris_map_to_libzmq_endpoints($"unix://{path}", $"ipc://{path}");
    }

    [TestCase("ipc://shm-ring")]
    [TestCase("inproc://x")]
    [TestCase("udp://127.0.0.1:1")]
    public void Psyne_uris_without_a_libzmq_counterpart_are_refused(string psyne)
    {
        var e = Assert.Throws<ArgumentException>(() => ZmqEndpoint.ToLibZmq(psyne));
        Assert.That(e!.Message, Does.Contain(psyne));
    }
}
