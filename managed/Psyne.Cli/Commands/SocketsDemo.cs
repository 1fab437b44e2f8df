using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using NetMQ;
using Psyne.Benchmarks.Peers;
using Psyne.Sockets;
using Spectre.Console;
using NetMqResponseSocket = NetMQ.Sockets.ResponseSocket;
using NetMqSubscriberSocket = NetMQ.Sockets.SubscriberSocket;
using SocketOptions = Psyne.Sockets.SocketOptions;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType;

namespace Psyne.Cli.Commands;

/// <summary>
/// The sockets step of <c>psyne demo</c>: Psyne's ZeroMQ-compatible sockets talking ZMTP 3.1 over
/// loopback tcp with another ZeroMQ implementation: libzmq when it is installed, NetMQ (the managed
/// port) when it is not. A Psyne PUB publishes to the other side's SUB through a topic filter, and
/// a Psyne REQ asks the other side's REP; every message that comes back is checked.
/// <c>PSYNE_DEMO_ZMQ_PEER=netmq</c> picks NetMQ even where libzmq is installed (to try the fallback).
/// </summary>
public static class SocketsDemo
{
    private const int Published = 10_000;
    private const int RoundTripCount = 1_000;
    private const int RequestSize = 32;
    private static readonly byte[] WantedTopic = "even."u8.ToArray();
    private static readonly byte[] OtherTopic = "odd.."u8.ToArray();
    private static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs the step; returns the number of failed checks.</summary>
    public static int Run()
    {
        bool forceNetMq = string.Equals(Environment.GetEnvironmentVariable("PSYNE_DEMO_ZMQ_PEER"), "netmq", StringComparison.OrdinalIgnoreCase);
        bool libzmq = !forceNetMq && LibZmq.IsAvailable;
        using IForeignPeer peer = libzmq ? new LibZmqForeign() : new NetMqForeign();
        AnsiConsole.Write(new Rule($"ZeroMQ sockets: Psyne and {peer.Name} over tcp loopback"));
        if (!libzmq)
        {
            string why = forceNetMq ? "not used: PSYNE_DEMO_ZMQ_PEER=netmq" : $"not available: {LibZmq.UnavailableReason}";
            AnsiConsole.MarkupLineInterpolated($"[grey]libzmq {why}; the other side is NetMQ (the managed ZeroMQ port) instead.[/]");
        }
        return Step("PUB/SUB", () => PubSub(peer)) + Step("REQ/REP", () => ReqRep(peer));
    }

    private static int Step(string pattern, Func<(bool Ok, string Line)> step)
    {
        try
        {
            (bool ok, string line) = step();
            AnsiConsole.MarkupLine($"{(ok ? "[green]ok[/]" : "[red]MISMATCH[/]")} {pattern}  {Markup.Escape(line)}");
            return ok ? 0 : 1;
        }
        catch (Exception e)
        {
            AnsiConsole.MarkupLine($"[red]FAILED[/] {pattern}  {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    /// <summary>A Psyne PUB publishes two topics; the other side's SUB subscribes to one and must get exactly its messages, in order, intact.</summary>
    private static (bool, string) PubSub(IForeignPeer peer)
    {
        // Room for every message, so a subscriber that falls behind for a moment loses none (PUB drops at its mark).
        using var pub = new PubSocket(new SocketOptions { SendHighWatermark = 2 * Published, QueueBytes = 4 << 20 });
        string endpoint = pub.Bind("tcp://127.0.0.1:0");
        using IForeignSubscriber sub = peer.Subscribe(endpoint, WantedTopic, highWatermark: 2 * Published);

        // A PUB sends only what its subscribers asked for: wait until the subscription has arrived.
        long deadline = Stopwatch.GetTimestamp() + (long)(StepTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!pub.SubscriptionCounts.Any(c => c > 0))
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"{peer.Name} SUB's subscription did not reach the Psyne PUB within {StepTimeout.TotalSeconds:F0} s");
            Thread.Sleep(1);
        }

        int expected = Published / 2;
        var check = new SubscriberCheck(sub, expected);
        var receiver = new Thread(check.Run) { IsBackground = true, Name = "demo-sub" };
        long start = Stopwatch.GetTimestamp();
        receiver.Start();
        byte[] frame = new byte[WantedTopic.Length + sizeof(long)];
        for (int i = 0; i < Published; i++)
        {
            (i % 2 == 0 ? WantedTopic : OtherTopic).CopyTo(frame, 0);
            BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(WantedTopic.Length), i);
            pub.Send(frame);
        }
        if (!receiver.Join(StepTimeout * 2))
            throw new TimeoutException($"{peer.Name} SUB was still receiving after {StepTimeout.TotalSeconds * 2:F0} s");
        double seconds = check.Seconds(start);
        long dropped = pub.Statistics.MessagesDropped;
        bool ok = check.Received == expected && check.Wrong == 0 && check.Extra == 0 && dropped == 0;
        string detail = ok
            ? "every one in order and intact, none of the other topic"
            : $"{check.Wrong} wrong, {check.Extra} beyond the {expected} expected, {dropped} dropped by the PUB{(check.FirstError is null ? "" : $"; first: {check.FirstError}")}";
        return (ok, $"Psyne PUB to {peer.Name} SUB subscribed to '{Encoding.ASCII.GetString(WantedTopic)}': {Published} published on 2 topics, " +
            $"{check.Received} received in {seconds * 1e3:F0} ms ({check.Received / seconds / 1e3:F0} k msg/s), {detail}");
    }

    /// <summary>A Psyne REQ asks the other side's REP, which echoes; every reply must be its request's.</summary>
    private static (bool, string) ReqRep(IForeignPeer peer)
    {
        using IForeignReplier rep = peer.Reply(RoundTripCount);
        using var req = new ReqSocket(new SocketOptions { Linger = TimeSpan.Zero });
        req.Connect(rep.Endpoint);
        byte[] request = new byte[RequestSize];
        int wrong = 0;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < RoundTripCount; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(request, i);
            request.AsSpan(8).Fill((byte)(i * 7));
            req.Send(request);
            if (!req.TryReceive(StepTimeout, out ReceivedFrame reply))
                throw new TimeoutException($"{peer.Name} REP did not answer request {i} within {StepTimeout.TotalSeconds:F0} s{rep.Error}");
            if (reply.More || !reply.Data.SequenceEqual(request))
                wrong++;
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        bool ok = wrong == 0;
        return (ok, $"Psyne REQ to {peer.Name} REP (echo): {RoundTripCount} round trips of {RequestSize} B in {seconds * 1e3:F0} ms " +
            $"({RoundTripCount / seconds:F0} round trips/s, {seconds / RoundTripCount * 1e6:F0} µs each), " +
            (ok ? "every reply matches its request" : $"{wrong} wrong replies"));
    }

    /// <summary>The subscriber's thread: receives the expected messages, checks each, then makes sure nothing else follows.</summary>
    private sealed class SubscriberCheck(IForeignSubscriber sub, int expected)
    {
        private long _lastAt;

        public int Received { get; private set; }

        public int Wrong { get; private set; }

        public int Extra { get; private set; }

        public string? FirstError { get; private set; }

        public double Seconds(long start) => (_lastAt - start) / (double)Stopwatch.Frequency;

        public void Run()
        {
            byte[] buffer = new byte[256];
            try
            {
                for (int k = 0; k < expected; k++)
                {
                    if (!sub.TryReceive(buffer, StepTimeout, out int length))
                    {
                        Fail($"nothing after message {k} of {expected}");
                        break;
                    }
                    Received++;
                    if (length > buffer.Length)
                    {
                        Fail($"message {k} has {length} bytes");
                        continue;
                    }
                    ReadOnlySpan<byte> m = buffer.AsSpan(0, length);
                    if (length != WantedTopic.Length + sizeof(long) || !m.StartsWith(WantedTopic) ||
                        BinaryPrimitives.ReadInt64LittleEndian(m[WantedTopic.Length..]) != 2L * k)
                    {
                        Fail($"message {k} is '{Convert.ToHexString(m)}'");
                    }
                }
                _lastAt = Stopwatch.GetTimestamp();
                // The other topic was filtered out: nothing more may come.
                while (sub.TryReceive(buffer, TimeSpan.FromMilliseconds(100), out _))
                    Extra++;
            }
            catch (Exception e)
            {
                Fail(e.Message);
                _lastAt = Stopwatch.GetTimestamp();
            }
        }

        private void Fail(string what)
        {
            Wrong++;
            FirstError ??= what;
        }
    }

    // ---- the other side: libzmq or NetMQ ---------------------------------------------------------

    private interface IForeignPeer : IDisposable
    {
        string Name { get; }

        /// <summary>A SUB connected to <paramref name="endpoint"/>, subscribed to <paramref name="topic"/>.</summary>
        IForeignSubscriber Subscribe(string endpoint, byte[] topic, int highWatermark);

        /// <summary>A REP bound to a free loopback port, echoing <paramref name="count"/> requests on a thread of its own.</summary>
        IForeignReplier Reply(int count);
    }

    private interface IForeignSubscriber : IDisposable
    {
        bool TryReceive(byte[] buffer, TimeSpan timeout, out int length);
    }

    private interface IForeignReplier : IDisposable
    {
        string Endpoint { get; }

        /// <summary>What went wrong on the REP's thread, as a suffix for a message ("" when nothing did).</summary>
        string Error { get; }
    }

    private sealed class LibZmqForeign : IForeignPeer
    {
        private readonly ZmqContext _context = new();

        public string Name { get; } = $"libzmq {LibZmq.Version}";

        public IForeignSubscriber Subscribe(string endpoint, byte[] topic, int highWatermark)
        {
            ZmqSocket sub = _context.Socket(ZmqSocketType.Sub);
            sub.Linger = 0;
            sub.RcvHwm = highWatermark;
            sub.Subscribe(topic);
            sub.Connect(ZmqEndpoint.ToLibZmq(endpoint));
            return new Subscriber(sub);
        }

        public IForeignReplier Reply(int count)
        {
            ZmqSocket rep = _context.Socket(ZmqSocketType.Rep);
            rep.Linger = 0;
            rep.RcvTimeo = (int)StepTimeout.TotalMilliseconds;
            string endpoint = ZmqEndpoint.FromLibZmq(rep.Bind("tcp://127.0.0.1:*"));
            return new Replier(endpoint, () =>
            {
                byte[] buffer = new byte[256];
                for (int i = 0; i < count; i++)
                {
                    int n = rep.Receive(buffer);
                    rep.Send(buffer.AsSpan(0, n));
                }
            }, rep.Dispose);
        }

        public void Dispose() => _context.Dispose();

        private sealed class Subscriber(ZmqSocket sub) : IForeignSubscriber
        {
            private int _timeoutMs = -2;

            public bool TryReceive(byte[] buffer, TimeSpan timeout, out int length)
            {
                int ms = (int)timeout.TotalMilliseconds;
                if (ms != _timeoutMs)
                    sub.RcvTimeo = _timeoutMs = ms;
                return sub.TryReceive(buffer, out length);
            }

            public void Dispose() => sub.Dispose();
        }
    }

    private sealed class NetMqForeign : IForeignPeer
    {
        public string Name { get; } = $"NetMQ {NetMqPeers.Version}";

        public IForeignSubscriber Subscribe(string endpoint, byte[] topic, int highWatermark)
        {
            var sub = new NetMqSubscriberSocket();
            sub.Options.Linger = TimeSpan.Zero;
            sub.Options.ReceiveHighWatermark = highWatermark;
            sub.Subscribe(topic);
            sub.Connect(endpoint);
            return new Subscriber(sub);
        }

        public IForeignReplier Reply(int count)
        {
            var rep = new NetMqResponseSocket();
            rep.Options.Linger = TimeSpan.Zero;
            int port = rep.BindRandomPort("tcp://127.0.0.1");
            return new Replier($"tcp://127.0.0.1:{port}", () =>
            {
                for (int i = 0; i < count; i++)
                {
                    if (!rep.TryReceiveFrameBytes(StepTimeout, out byte[]? request))
                        throw new TimeoutException($"no request {i} within {StepTimeout.TotalSeconds:F0} s");
                    rep.SendFrame(request);
                }
            }, rep.Dispose);
        }

        public void Dispose() => NetMqPeers.Cleanup();

        private sealed class Subscriber(NetMqSubscriberSocket sub) : IForeignSubscriber
        {
            public bool TryReceive(byte[] buffer, TimeSpan timeout, out int length)
            {
                if (!sub.TryReceiveFrameBytes(timeout, out byte[]? frame))
                {
                    length = 0;
                    return false;
                }
                frame.AsSpan(0, Math.Min(frame.Length, buffer.Length)).CopyTo(buffer);
                length = frame.Length; // a frame longer than the buffer is reported whole, so the check catches it
                return true;
            }

            public void Dispose() => sub.Dispose();
        }
    }

    /// <summary>Runs a REP's loop on a thread of its own; disposal waits for it and closes the socket.</summary>
    private sealed class Replier : IForeignReplier
    {
        private readonly Thread _thread;
        private readonly Action _close;
        private volatile string _error = "";

        public Replier(string endpoint, Action serve, Action close)
        {
            Endpoint = endpoint;
            _close = close;
            _thread = new Thread(() =>
            {
                try
                {
                    serve();
                }
                catch (Exception e)
                {
                    _error = $" (the REP's thread: {e.Message})";
                }
            }) { IsBackground = true, Name = "demo-rep" };
            _thread.Start();
        }

        public string Endpoint { get; }

        public string Error => _error;

        public void Dispose()
        {
            if (_thread.Join(StepTimeout * 2))
                _close();
        }
    }
}
