using System.Diagnostics;
using System.Text;
using Psyne.Benchmarks.Peers;
using Psyne.Sockets;
using Psyne.Tests.Sockets.Interop;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets;

/// <summary>
/// A Psyne PULL bound on tcp serves a well-behaved libzmq PUSH that streams numbered messages
/// while a raw ZMTP peer (RawZmtp) sends what no ZMTP peer should: garbage, HTTP, old protocol
/// versions, impossible frame sizes, reserved flags, commands out of place, the wrong socket type,
/// frames cut short. Each time only the hostile connection closes, with a HandshakeFailed or
/// Disconnected event whose reason names the problem and a logged warning, and the good peer's
/// stream arrives whole and in order.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public class HostileInputTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The PULL, its monitor and log, and the good libzmq PUSH streaming 0, 1, 2, ... into it.</summary>
    private sealed class Harness : IDisposable
    {
        private readonly LibZmqPeer _push;
        private readonly Thread _sender;
        private readonly Thread _receiver;
        private volatile bool _stopSending;
        private volatile bool _stopReceiving;
        private int _sent;
        private int _received;
        private volatile string? _failure;

        public Harness(Action<SocketOptions>? configure)
        {
            LibZmqPeer.RequireLibZmq();
            Pull = new PullSocket(Interop.Interop.Opts(o =>
            {
                o.Logger = Log;
                o.HandshakeTimeout = TimeSpan.FromMilliseconds(500);
                configure?.Invoke(o);
            }));
            Events = new EventLog(Pull);
            Endpoint = Pull.Bind("tcp://127.0.0.1:0");
            _push = LibZmqPeer.Connect(ZmqSocketType.Push, Endpoint);
            _receiver = new Thread(Receive) { IsBackground = true, Name = "hostile-test-receiver" };
            _sender = new Thread(Send) { IsBackground = true, Name = "hostile-test-sender" };
            _receiver.Start();
            _sender.Start();
        }

        public PullSocket Pull { get; }

        public EventLog Events { get; }

        public CollectingLogger Log { get; } = new();

        public string Endpoint { get; }

        public int Received => Volatile.Read(ref _received);

        private readonly List<string> _others = [];

        /// <summary>Messages that came from other peers than the good one (whole ones a hostile peer sent first).</summary>
        public IReadOnlyList<string> Others
        {
            get
            {
                lock (_others)
                    return [.. _others];
            }
        }

        private void Send()
        {
            try
            {
                ZmqSocket socket = _push.Socket;
                byte[] buffer = new byte[8];
                "good"u8.CopyTo(buffer);
                int i = 0;
                while (!_stopSending)
                {
                    BitConverter.TryWriteBytes(buffer.AsSpan(4), i);
                    if (!socket.Send(buffer))
                        continue; // at the high-water mark for 5 s: try the same number again
                    Volatile.Write(ref _sent, ++i);
                    if (i % 64 == 0)
                        Thread.Sleep(1);
                }
            }
            catch (Exception e)
            {
                _failure ??= $"the good sender failed: {e}";
            }
        }

        private void Receive()
        {
            try
            {
                int next = 0;
                while (!_stopReceiving)
                {
                    if (!Pull.TryReceive(TimeSpan.FromMilliseconds(20), out ReceivedFrame frame))
                        continue;
                    if (frame.Length != 8 || !frame.Data.StartsWith("good"u8))
                    {
                        // From the hostile peer: a well-formed message it sent before misbehaving.
                        lock (_others)
                            _others.Add(frame.ToString());
                        continue;
                    }
                    int value = BitConverter.ToInt32(frame.Data[4..]);
                    if (value != next)
                    {
                        _failure ??= $"the good peer's message {next} was followed by {value}: lost or out of order";
                        return;
                    }
                    next++;
                    Volatile.Write(ref _received, next);
                }
            }
            catch (Exception e)
            {
                _failure ??= $"the receiver failed: {e}";
            }
        }

        /// <summary>Waits until <paramref name="count"/> more of the good peer's messages arrived.</summary>
        public void WaitForProgress(int count = 200)
        {
            int target = Received + count;
            Eventually(() => Received >= target || _failure is not null, $"{count} more good messages (at {Received})");
            Assert.That(_failure, Is.Null);
        }

        /// <summary>Stops the good peer and checks every message it sent arrived, in order.</summary>
        public void Finish()
        {
            _stopSending = true;
            Assert.That(_sender.Join(TimeSpan.FromSeconds(10)), Is.True, "the good sender stops");
            int sent = Volatile.Read(ref _sent);
            Eventually(() => Received >= sent || _failure is not null, $"all {sent} good messages (at {Received})");
            Assert.That(_failure, Is.Null);
            Assert.That(Received, Is.EqualTo(sent), "every good message, none lost");
            Assert.That(sent, Is.GreaterThan(0));
        }

        /// <summary>No event but the hostile one touched the good peer's connection.</summary>
        public void AssertGoodPeerUndisturbed(string hostileEndpoint)
        {
            IEnumerable<SocketEventArgs> others = Events.All.Where(e =>
                e.Kind is SocketEventKind.Disconnected or SocketEventKind.HandshakeFailed && e.Endpoint != hostileEndpoint);
            Assert.That(others, Is.Empty, "only the hostile connection ended");
            Assert.That(Events.Count(SocketEventKind.HandshakeSucceeded), Is.GreaterThanOrEqualTo(1));
        }

        public void Dispose()
        {
            _stopSending = true;
            _sender.Join(TimeSpan.FromSeconds(10));
            _stopReceiving = true;
            _receiver.Join(TimeSpan.FromSeconds(10));
            _push.Dispose();
            Pull.Dispose();
        }
    }

    private static string EndpointOf(RawZmtp raw) => $"tcp://{raw.Socket.LocalEndPoint}";

    /// <summary>
    /// Runs one attack against the harness: the good stream flows before it, the hostile connection
    /// is closed by Psyne (when <paramref name="psyneCloses"/>) with a <paramref name="kind"/> event whose
    /// reason contains <paramref name="keyword"/> and a warning logged, and the good stream is whole.
    /// </summary>
    private static (SocketEventArgs Event, IReadOnlyList<string> Others) Attack(Action<RawZmtp> attack, SocketEventKind kind, string keyword, bool psyneCloses = true,
                                          Action<SocketOptions>? configure = null, Action<Harness, RawZmtp>? meanwhile = null)
    {
        using var h = new Harness(configure);
        h.WaitForProgress();
        SocketEventArgs seen;
        string hostile;
        using (RawZmtp raw = RawZmtp.Connect(h.Endpoint))
        {
            hostile = EndpointOf(raw);
            attack(raw);
            meanwhile?.Invoke(h, raw);
            if (psyneCloses)
                Assert.That(raw.WaitForClose(CloseTimeout), Is.True, "Psyne closes the hostile connection");
        }
        seen = h.Events.WaitFor(kind, e => e.Endpoint == hostile);
        Assert.That(seen.Reason, Does.Contain(keyword).IgnoreCase, seen.ToString());
        Eventually(() => h.Log.Warnings.Any(w => w.Contains(keyword, StringComparison.OrdinalIgnoreCase)), $"a warning naming '{keyword}'");
        h.WaitForProgress();
        h.AssertGoodPeerUndisturbed(hostile);
        h.Finish();
        Assert.That(h.Others.Where(m => m != FineMessage && !m.StartsWith("ok:", StringComparison.Ordinal)), Is.Empty,
            "nothing of the hostile peer's but the well-formed messages it sent before misbehaving");
        return (seen, h.Others);
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    // ---- greetings -----------------------------------------------------------------------------

    [Test]
    public void Garbage_instead_of_a_greeting() =>
        Attack(raw => raw.Send([0x01, 0x02, .. Ascii("this is not ZMTP at all"), 0x00, 0xFE]), SocketEventKind.HandshakeFailed, "greeting");

    [Test]
    public void An_http_request_instead_of_a_greeting()
    {
        SocketEventArgs e = Attack(raw => raw.Send(Ascii("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")), SocketEventKind.HandshakeFailed, "greeting").Event;
        Assert.That(e.Reason, Does.Contain("0x47"), "names the byte that gave it away ('G')");
    }

    [Test]
    public void A_zmtp_2_0_greeting() =>
        // Signature, then revision 1 (ZMTP 2.0), socket type PUSH, an empty identity frame.
        Attack(raw => raw.Send([0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x08, 0x00, 0x00]), SocketEventKind.HandshakeFailed, "ZMTP 2.0");

    [Test]
    public void A_zmtp_1_0_peer() =>
        // ZMTP 1.0 has no greeting: it starts with its identity as a frame (length 1, flags 0), then messages.
        Attack(raw => raw.Send([0x01, 0x00, 0x06, 0x00, .. Ascii("hello")]), SocketEventKind.HandshakeFailed, "ZMTP 1.0");

    [Test]
    public void A_greeting_cut_short_and_left_open_times_out() =>
        Attack(raw => raw.Send(RawZmtp.Greeting().AsSpan(0, 20)), SocketEventKind.HandshakeFailed, "handshake timeout");

    // ---- the handshake -------------------------------------------------------------------------

    [Test]
    public void A_command_other_than_ready_first() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Command("PING", [0, 10]));
        }, SocketEventKind.HandshakeFailed, "expected READY");

    [Test]
    public void A_message_frame_before_ready() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Frame(Ascii("sneaky")));
        }, SocketEventKind.HandshakeFailed, "before the handshake");

    [Test]
    public void A_long_command_claiming_a_terabyte_before_ready() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.LongFrameHeader(1UL << 40, RawZmtp.FlagCommand));
        }, SocketEventKind.HandshakeFailed, "maximum");

    [Test]
    public void A_ready_cut_short_and_left_open_times_out() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Ready("PUSH").AsSpan(0, 10));
        }, SocketEventKind.HandshakeFailed, "handshake timeout");

    [Test]
    public void A_socket_type_that_cannot_talk_to_pull()
    {
        ZmtpFrame? error = null;
        SocketEventArgs e = Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Ready("PUB"));
            raw.ReadGreeting();
            ZmtpFrame ready = raw.ReadFrame();
            Assert.That(ready.CommandName, Is.EqualTo("READY"));
            error = raw.ReadFrame();
        }, SocketEventKind.HandshakeFailed, "socket type").Event;
        Assert.That(e.Reason, Does.Contain("PUB").And.Contain("PULL"));
        Assert.That(error!.Value.CommandName, Is.EqualTo("ERROR"), "Psyne tells the peer why before closing (RFC 37)");
    }

    [Test]
    public void A_ready_without_a_socket_type() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Command("READY", RawZmtp.Metadata(("Identity", Ascii("x")))));
        }, SocketEventKind.HandshakeFailed, "Socket-Type");

    [Test]
    public void A_greeting_with_another_mechanism() =>
        Attack(raw => raw.Send(RawZmtp.Greeting(mechanism: "CURVE")), SocketEventKind.HandshakeFailed, "mechanism");

    [Test]
    public void A_greeting_with_a_malformed_mechanism_name() =>
        Attack(raw => raw.Send(RawZmtp.Greeting(mechanism: "null\u0001")), SocketEventKind.HandshakeFailed, "mechanism");

    [Test]
    public void A_ready_whose_metadata_overruns_its_frame() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            // Socket-Type claims a 1000-byte value in a frame that holds 4.
            raw.Send(RawZmtp.Command("READY", [11, .. Ascii("Socket-Type"), 0, 0, 0x03, 0xE8, .. Ascii("PUSH")]));
        }, SocketEventKind.HandshakeFailed, "metadata");

    [Test]
    public void A_ready_with_an_identity_that_starts_with_a_zero_byte() =>
        Attack(raw =>
        {
            raw.Send(RawZmtp.Greeting());
            raw.Send(RawZmtp.Ready("PUSH", [0, 1, 2, 3, 4]));
        }, SocketEventKind.HandshakeFailed, "Identity");

    // ---- frames after the handshake ------------------------------------------------------------

    private const string FineMessage = "a fine message first";

    private static Action<RawZmtp> AfterHandshake(params byte[][] sends) => raw =>
    {
        raw.Handshake("PUSH");
        raw.Send(RawZmtp.Frame(Ascii(FineMessage)));
        foreach (byte[] bytes in sends)
            raw.Send(bytes);
    };

    [Test]
    public void A_long_frame_claiming_2_pow_63_bytes() =>
        Attack(AfterHandshake(RawZmtp.LongFrameHeader(1UL << 63)), SocketEventKind.Disconnected, "2^63");

    [Test]
    public void A_long_frame_claiming_2_pow_63_minus_1_bytes_without_a_size_limit() =>
        Attack(AfterHandshake(RawZmtp.LongFrameHeader(long.MaxValue), new byte[100]), SocketEventKind.Disconnected, "larger than");

    [Test]
    public void A_frame_beyond_max_message_size() =>
        Attack(AfterHandshake(RawZmtp.LongFrameHeader(1 << 20), new byte[1000]), SocketEventKind.Disconnected, "maximum",
            configure: o => o.MaxMessageSize = 64 * 1024);

    [Test]
    public void A_frame_at_max_message_size_is_fine_and_one_byte_more_is_not()
    {
        byte[] atLimit = new byte[64 * 1024];
        Array.Fill(atLimit, (byte)'.');
        "ok:"u8.CopyTo(atLimit);
        var (_, others) = Attack(raw =>
        {
            AfterHandshake()(raw);
            raw.Send(RawZmtp.Frame(atLimit));
            raw.Send(RawZmtp.Frame(new byte[64 * 1024 + 1]));
        }, SocketEventKind.Disconnected, "maximum", configure: o => o.MaxMessageSize = 64 * 1024);
        Assert.That(others, Is.EqualTo(new[] { FineMessage, Encoding.ASCII.GetString(atLimit) }), "a frame of exactly MaxMessageSize is accepted");
    }

    [TestCase((byte)0x08)]
    [TestCase((byte)0x80)]
    [TestCase((byte)0xF0)]
    public void Reserved_flag_bits(byte reserved) =>
        Attack(AfterHandshake([reserved, 1, (byte)'x']), SocketEventKind.Disconnected, "reserved");

    [Test]
    public void A_command_frame_with_the_more_flag() =>
        Attack(AfterHandshake(RawZmtp.ShortFrameHeader(5, RawZmtp.FlagCommand | RawZmtp.FlagMore), Ascii("\u0004PING")),
            SocketEventKind.Disconnected, "command");

    [Test]
    public void A_second_ready_after_the_handshake() =>
        Attack(AfterHandshake(RawZmtp.Ready("PUSH")), SocketEventKind.Disconnected, "READY");

    [Test]
    public void A_command_in_the_middle_of_a_multipart_message() =>
        Attack(AfterHandshake(RawZmtp.Frame(Ascii("part one"), more: true), RawZmtp.Command("PING", [0, 10])),
            SocketEventKind.Disconnected, "multipart");

    [Test]
    public void Stops_mid_frame_then_closes() =>
        Attack(raw =>
        {
            AfterHandshake(RawZmtp.ShortFrameHeader(100), new byte[10])(raw);
            Thread.Sleep(50); // let Psyne read the part
        }, SocketEventKind.Disconnected, "middle of a", psyneCloses: false);

    [Test]
    public void Stops_mid_way_through_a_large_frame_then_closes() =>
        Attack(raw =>
        {
            AfterHandshake(RawZmtp.LongFrameHeader(1 << 20), new byte[200_000])(raw);
            Thread.Sleep(50);
        }, SocketEventKind.Disconnected, "middle of a", psyneCloses: false);

    [Test]
    public void Stops_mid_frame_and_stays_open_without_blocking_the_others() =>
        Attack(AfterHandshake(RawZmtp.ShortFrameHeader(100), new byte[10]), SocketEventKind.Disconnected, "middle of a", psyneCloses: false,
            meanwhile: (h, raw) =>
            {
                // Psyne waits for the rest of the frame (there is no deadline inside a frame without
                // heartbeats), but on that connection's own thread: the good peer keeps flowing.
                h.WaitForProgress(1000);
                Assert.That(raw.WaitForClose(TimeSpan.FromMilliseconds(200)), Is.False, "a slow peer is not dropped for being slow");
                h.WaitForProgress(500);
            });

    [Test]
    public void Stops_mid_frame_and_stays_open_is_dropped_by_heartbeats() =>
        Attack(AfterHandshake(RawZmtp.LongFrameHeader(1 << 20), new byte[100_000]), SocketEventKind.Disconnected, "heartbeat",
            configure: o =>
            {
                o.HeartbeatInterval = TimeSpan.FromMilliseconds(50);
                o.HeartbeatTimeout = TimeSpan.FromMilliseconds(300);
            });

    [Test]
    public void Many_hostile_connections_at_once_do_not_disturb_the_good_peer()
    {
        using var h = new Harness(null);
        h.WaitForProgress();
        var raws = new List<RawZmtp>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                RawZmtp raw = RawZmtp.Connect(h.Endpoint);
                raws.Add(raw);
                switch (i % 4)
                {
                    case 0: raw.Send(Ascii("GET / HTTP/1.0\r\n\r\n")); break;
                    case 1: raw.Send(RawZmtp.Greeting().AsSpan(0, 11)); break; // then silence
                    case 2: AfterHandshake(RawZmtp.LongFrameHeader(1UL << 63))(raw); break;
                    default: AfterHandshake(RawZmtp.ShortFrameHeader(200), new byte[3])(raw); break; // then silence
                }
            }
            h.WaitForProgress(1000);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < raws.Count; i++)
            {
                if (i % 4 is 0 or 1 or 2)
                    Assert.That(raws[i].WaitForClose(CloseTimeout), Is.True, $"hostile connection {i} closed");
            }
            Assert.That(watch.Elapsed, Is.LessThan(CloseTimeout));
        }
        finally
        {
            foreach (RawZmtp raw in raws)
                raw.Dispose();
        }
        h.WaitForProgress();
        Assert.That(h.Events.Count(SocketEventKind.HandshakeFailed), Is.EqualTo(10));
        h.Finish();
    }

    /// <summary>
    /// Psyne connecting: a server that answers with garbage, then one of the wrong socket type, are
    /// dropped with the reason; Psyne reconnects each time, and what it queued meanwhile reaches the
    /// well-behaved server that answers third, whole and in order.
    /// </summary>
    [Test]
    public void A_hostile_server_is_dropped_and_psyne_reconnects_without_losing_queued_messages()
    {
        var log = new CollectingLogger();
        using System.Net.Sockets.TcpListener listener = RawZmtp.Listen(out string endpoint);
        try
        {
            using var push = new PushSocket(Interop.Interop.Opts(o => o.Logger = log));
            var events = new EventLog(push);
            push.Connect(endpoint);
            for (int i = 0; i < 10; i++)
                Interop.Interop.Send(push, Ascii($"queued {i}"));

            using (RawZmtp garbage = RawZmtp.Accept(listener))
            {
                garbage.Send(Ascii("HTTP/1.1 400 Bad Request\r\n\r\n"));
                Assert.That(garbage.WaitForClose(CloseTimeout), Is.True);
            }
            Assert.That(events.WaitFor(SocketEventKind.HandshakeFailed).Reason, Does.Contain("greeting"));

            using (RawZmtp wrongType = RawZmtp.Accept(listener))
            {
                wrongType.Send(RawZmtp.Greeting());
                wrongType.Send(RawZmtp.Ready("SUB"));
                Assert.That(wrongType.WaitForClose(CloseTimeout), Is.True);
            }
            Assert.That(events.WaitFor(SocketEventKind.HandshakeFailed, e => e.Reason!.Contains("socket type")).Reason, Does.Contain("SUB"));
            Assert.That(log.Warnings, Has.Some.Contains("greeting"));
            Assert.That(log.Warnings, Has.Some.Contains("socket type"));

            // Messages flow only after a handshake, so none went to the two hostile servers.
            using RawZmtp good = RawZmtp.Accept(listener);
            good.Handshake("PULL");
            var got = new List<string>();
            for (int i = 0; i < 10; i++)
                got.Add(Encoding.ASCII.GetString(good.ReadMessage()[0]));
            Assert.That(got, Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"queued {i}")));
            Assert.That(events.Count(SocketEventKind.HandshakeSucceeded), Is.EqualTo(1));
        }
        finally
        {
            listener.Stop();
        }
    }
}
