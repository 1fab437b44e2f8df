using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Psyne.Benchmarks.Peers;
using Psyne.Sockets;
using Psyne.Tests.Sockets.Peers;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets.Interop;

/// <summary>A ZeroMQ implementation and the transport it is reached over: libzmq on tcp or unix (its ipc://), NetMQ on tcp.</summary>
public sealed record PeerKind(string Implementation, string Transport)
{
    public static readonly PeerKind LibZmqTcp = new(ZmqTestPeer.LibZmq, "tcp");
    public static readonly PeerKind LibZmqUnix = new(ZmqTestPeer.LibZmq, "unix");
    public static readonly PeerKind NetMqTcp = new(ZmqTestPeer.NetMq, "tcp");

    /// <summary>Every implementation on every transport it has on Linux (NetMQ has no ipc there).</summary>
    public static readonly PeerKind[] All = [LibZmqTcp, LibZmqUnix, NetMqTcp];

    public static readonly PeerKind[] LibZmqOnly = [LibZmqTcp, LibZmqUnix];

    public bool IsLibZmq => Implementation == ZmqTestPeer.LibZmq;

    public override string ToString() => $"{Implementation}_{Transport}";
}

/// <summary>Which side binds: Psyne (the peer connects to it) or the peer (Psyne connects).</summary>
public enum Direction
{
    PsyneBinds,
    PeerBinds,
}

/// <summary>A test ILogger that keeps every entry (SocketOptions.Logger), thread-safe.</summary>
internal sealed class CollectingLogger : ILogger
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Message)> Entries => [.. _entries];

    public IEnumerable<string> Warnings => _entries.Where(e => e.Level >= LogLevel.Warning).Select(e => e.Message);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Collects a socket's monitor events for assertions.</summary>
internal sealed class EventLog
{
    private readonly ConcurrentQueue<SocketEventArgs> _events = new();

    public EventLog(PsyneSocket socket) => socket.Events += (_, e) => _events.Enqueue(e);

    public IReadOnlyList<SocketEventArgs> All => [.. _events];

    public int Count(SocketEventKind kind) => _events.Count(e => e.Kind == kind);

    /// <summary>Waits (bounded) for an event of <paramref name="kind"/> matching <paramref name="where"/>; fails the test if none comes.</summary>
    public SocketEventArgs WaitFor(SocketEventKind kind, Func<SocketEventArgs, bool>? where = null, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? Patience;
        while (true)
        {
            SocketEventArgs? hit = _events.FirstOrDefault(e => e.Kind == kind && (where?.Invoke(e) ?? true));
            if (hit is not null)
                return hit;
            if (deadline.Elapsed > limit)
                Assert.Fail($"no {kind} event within {limit.TotalSeconds:0.#} s; saw: {string.Join(" | ", All)}");
            Thread.Sleep(5);
        }
    }

    /// <summary>Waits until <paramref name="count"/> events of <paramref name="kind"/> happened.</summary>
    public void WaitForCount(SocketEventKind kind, int count, TimeSpan? timeout = null) =>
        Eventually(() => Count(kind) >= count, $"{count} {kind} events (saw: {string.Join(" | ", All)})");

    public override string ToString() => string.Join(" | ", All);
}

/// <summary>Psyne sockets by type, and the bounded send helpers the interop tests share.</summary>
internal static class Interop
{
    /// <summary>The interop tests' socket options: short linger and reconnect interval so tests stay quick.</summary>
    public static SocketOptions Opts(Action<SocketOptions>? configure = null) => Options(o =>
    {
        o.Linger = TimeSpan.FromMilliseconds(500);
        configure?.Invoke(o);
    });

    public static PsyneSocket Create(SocketType type, SocketOptions options) => type switch
    {
        SocketType.Pair => new PairSocket(options),
        SocketType.Pub => new PubSocket(options),
        SocketType.Sub => new SubSocket(options),
        SocketType.Req => new ReqSocket(options),
        SocketType.Rep => new RepSocket(options),
        SocketType.Dealer => new DealerSocket(options),
        SocketType.Router => new RouterSocket(options),
        SocketType.Pull => new PullSocket(options),
        SocketType.Push => new PushSocket(options),
        SocketType.XPub => new XPubSocket(options),
        SocketType.XSub => new XSubSocket(options),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static ZmqSocketType ToZmq(SocketType type) => (ZmqSocketType)(int)type;

    /// <summary>Sends a whole message, each frame within <see cref="Patience"/> (fails the test instead of hanging).</summary>
    public static void Send(PsyneSocket socket, params byte[][] frames)
    {
        for (int i = 0; i < frames.Length; i++)
        {
            Assert.That(socket.TrySend(frames[i], more: i < frames.Length - 1, Patience), Is.True,
                $"{socket} could not send frame {i} of {frames.Length} within {Patience}");
        }
    }

    /// <summary>
    /// Connects the two sides as <paramref name="direction"/> says: the binding side binds on a fresh
    /// endpoint of the kind's transport, the other connects to it. Returns the peer.
    /// </summary>
    public static IZmqTestPeer Link(PsyneSocket psyne, PeerKind kind, ZmqSocketType peerType, Direction direction,
                                    byte[]? peerIdentity = null, Action<ZmqSocket>? configureLibZmq = null,
                                    Action<NetMQ.NetMQSocket>? configureNetMq = null, params byte[][] subscribe)
    {
        if (kind.IsLibZmq)
            LibZmqPeer.RequireLibZmq();
        if (direction == Direction.PsyneBinds)
        {
            string endpoint = psyne.Bind(Endpoint(kind.Transport));
            return ZmqTestPeer.Open(kind.Implementation, peerType, connectTo: endpoint, identity: peerIdentity,
                configureLibZmq: configureLibZmq, configureNetMq: configureNetMq, subscribe: subscribe);
        }
        IZmqTestPeer peer = ZmqTestPeer.Open(kind.Implementation, peerType, identity: peerIdentity, bindAt: Endpoint(kind.Transport),
            configureLibZmq: configureLibZmq, configureNetMq: configureNetMq, subscribe: subscribe);
        try
        {
            psyne.Connect(peer.PsyneEndpoint);
        }
        catch
        {
            peer.Dispose();
            throw;
        }
        return peer;
    }

    /// <summary>The next message the peer receives that <paramref name="skip"/> does not reject (probes, stale frames).</summary>
    public static List<byte[]> ReceiveSkipping(IZmqTestPeer peer, Func<List<byte[]>, bool> skip, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? Patience;
        while (true)
        {
            TimeSpan left = limit - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new AssertionException($"the {peer.Implementation} peer received nothing wanted within {limit.TotalSeconds:0.#} s");
            List<byte[]>? message = peer.TryReceive(left);
            if (message is not null && !skip(message))
                return message;
        }
    }

    /// <summary>The next message Psyne receives that <paramref name="skip"/> does not reject.</summary>
    public static List<byte[]> ReceiveSkipping(PsyneSocket socket, Func<List<byte[]>, bool> skip, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        TimeSpan limit = timeout ?? Patience;
        while (true)
        {
            TimeSpan left = limit - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
                throw new AssertionException($"{socket} received nothing wanted within {limit.TotalSeconds:0.#} s");
            if (socket.TryReceiveMultipart(left, out List<byte[]>? message) && !skip(message))
                return message;
        }
    }

    /// <summary>
    /// Repeats <paramref name="probe"/> every few milliseconds until <paramref name="arrived"/> says one got
    /// through (a PUB's subscription or a ROUTER's route is only known after the handshake); bounded.
    /// </summary>
    public static void ProbeUntil(Action probe, Func<bool> arrived, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            probe();
            if (arrived())
                return;
            if (deadline.Elapsed > Patience)
                Assert.Fail($"timed out probing for {what}");
        }
    }

    /// <summary>
    /// Waits for <paramref name="condition"/> while calling into the peer: libzmq and NetMQ attach a
    /// bound socket's new connection (and so send a SUB's subscriptions on it) only when the
    /// application next calls the socket, so an idle bound peer must be polled. The peer must not
    /// be expecting messages meanwhile (whatever it receives is dropped).
    /// </summary>
    public static void PumpUntil(IZmqTestPeer peer, Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > Patience)
                Assert.Fail($"timed out waiting for {what}");
            peer.TryReceive(TimeSpan.FromMilliseconds(2));
        }
    }

    public static string Show(IEnumerable<byte[]> frames) => "[" + string.Join(", ", frames.Select(f => $"\"{Text(f)}\"")) + "]";
}
