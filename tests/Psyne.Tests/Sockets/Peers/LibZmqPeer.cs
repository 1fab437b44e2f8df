using System.Collections.Concurrent;
using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>
/// A real libzmq socket as a test's counterpart: bound or connected on an endpoint (libzmq's form, or
/// Psyne's unix:///path and tcp://host:0), with its own context. Used from the test's thread
/// (<see cref="Send"/>, <see cref="Receive"/>, <see cref="Socket"/>), or handed to a background thread that
/// echoes (<see cref="StartEcho"/>) or collects (<see cref="StartCollector"/>) every message. Waits are
/// bounded (5 s by default) so a broken peer fails a test instead of hanging it.
/// </summary>
internal sealed class LibZmqPeer : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly ZmqContext _context;
    private readonly ZmqSocket _socket;
    private readonly BlockingCollection<List<byte[]>> _received = new();
    private Thread? _thread;
    private volatile bool _stop;
    private volatile Exception? _failure;
    private long _echoed;

    private LibZmqPeer(ZmqSocketType type, Action<ZmqSocket>? configure)
    {
        RequireLibZmq();
        _context = new ZmqContext();
        try
        {
            _socket = _context.Socket(type);
            _socket.RcvTimeo = (int)DefaultTimeout.TotalMilliseconds;
            _socket.SndTimeo = (int)DefaultTimeout.TotalMilliseconds;
            _socket.Linger = 0;
            configure?.Invoke(_socket);
        }
        catch
        {
            _socket?.Dispose();
            _context.Dispose();
            throw;
        }
        Type = type;
        Endpoint = "";
    }

    /// <summary>Skips the test (Assert.Ignore) where libzmq.so.5 cannot be loaded, with the reason.</summary>
    public static void RequireLibZmq()
    {
        if (!LibZmq.IsAvailable)
            Assert.Ignore($"libzmq.so.5 not installed: apt-get install libzmq5 ({LibZmq.UnavailableReason})");
    }

    public ZmqSocketType Type { get; }

    /// <summary>The peer's own context (e.g. for a <see cref="ZmqZapHandler"/>, which must be disposed before the peer).</summary>
    public ZmqContext Context => _context;

    /// <summary>The endpoint bound (with the real port) or connected to, in libzmq's form.</summary>
    public string Endpoint { get; private set; }

    /// <summary>The same endpoint as a Psyne URI (tcp://, unix://).</summary>
    public string PsyneEndpoint => ZmqEndpoint.FromLibZmq(Endpoint);

    /// <summary>The socket, for the test's thread; not while a background loop owns it.</summary>
    public ZmqSocket Socket => _thread is null ? _socket : throw new InvalidOperationException("a background loop owns this socket");

    /// <summary>Messages the echo loop has sent back.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    /// <summary>Binds (on a free loopback tcp port by default).</summary>
    public static LibZmqPeer Bind(ZmqSocketType type, string endpoint = "tcp://127.0.0.1:*", Action<ZmqSocket>? configure = null)
    {
        var peer = new LibZmqPeer(type, configure);
        try
        {
            peer.Endpoint = peer._socket.Bind(ToLibZmq(endpoint));
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    public static LibZmqPeer Connect(ZmqSocketType type, string endpoint, Action<ZmqSocket>? configure = null)
    {
        var peer = new LibZmqPeer(type, configure);
        try
        {
            peer.Endpoint = ToLibZmq(endpoint);
            peer._socket.Connect(peer.Endpoint);
            return peer;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    /// <summary>Psyne's unix:// and tcp://...:0 in libzmq's form; libzmq endpoints as they are.</summary>
    public static string ToLibZmq(string endpoint) =>
        endpoint.StartsWith("unix://", StringComparison.OrdinalIgnoreCase) || endpoint.EndsWith(":0", StringComparison.Ordinal)
            ? ZmqEndpoint.ToLibZmq(endpoint)
            : endpoint;

    /// <summary>Sends one message of <paramref name="frames"/> from the test's thread.</summary>
    public void Send(params byte[][] frames) => Socket.SendMultipart(frames);

    /// <summary>The next message, received on the test's thread; fails the test when none comes in time.</summary>
    public List<byte[]> Receive(TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? DefaultTimeout;
        return Socket.ReceiveMultipart(wait) ?? throw new AssertionException($"libzmq {Type} received nothing within {wait.TotalSeconds:0.#} s");
    }

    /// <summary>The next message within <paramref name="timeout"/>, or null.</summary>
    public List<byte[]>? TryReceive(TimeSpan timeout) => Socket.ReceiveMultipart(timeout);

    /// <summary>
    /// From now on a background thread owns the socket and sends every message it receives back
    /// unchanged: REP answers a request, ROUTER returns a message to the peer it came from (its
    /// routing id is the first frame), DEALER and PAIR send it back.
    /// </summary>
    public LibZmqPeer StartEcho() => Start(frames =>
    {
        _socket.SendMultipart([.. frames]);
        Interlocked.Increment(ref _echoed);
    }, "echo");

    /// <summary>From now on a background thread owns the socket and queues every message it receives for <see cref="TakeMessage"/>.</summary>
    public LibZmqPeer StartCollector() => Start(_received.Add, "collector");

    /// <summary>The next message the collector received; fails the test when none comes in time.</summary>
    public List<byte[]> TakeMessage(TimeSpan? timeout = null)
    {
        TimeSpan wait = timeout ?? DefaultTimeout;
        if (TryTakeMessage(wait, out List<byte[]>? message))
            return message!;
        ThrowIfFailed();
        throw new AssertionException($"the libzmq {Type} collector received nothing within {wait.TotalSeconds:0.#} s");
    }

    public bool TryTakeMessage(TimeSpan timeout, out List<byte[]>? message) => _received.TryTake(out message, timeout);

    /// <summary>Rethrows what stopped the background loop, if anything did.</summary>
    public void ThrowIfFailed()
    {
        if (_failure is { } e)
            throw new InvalidOperationException($"the libzmq {Type} background loop failed: {e.Message}", e);
    }

    private LibZmqPeer Start(Action<List<byte[]>> onMessage, string role)
    {
        if (_thread is not null)
            throw new InvalidOperationException("the background loop is already running");
        _thread = new Thread(() =>
        {
            try
            {
                while (!_stop)
                {
                    if (_socket.ReceiveMultipart(TimeSpan.FromMilliseconds(50)) is { } frames)
                        onMessage(frames);
                }
            }
            catch (Exception e) when (e is not ZmqException { IsTerminated: true })
            {
                _failure = e;
            }
        })
        { IsBackground = true, Name = $"libzmq-{Type}-{role}".ToLowerInvariant() };
        _thread.Start();
        return this;
    }

    public void Dispose()
    {
        _stop = true;
        _thread?.Join();
        _socket?.Dispose();
        _context.Dispose();
        _received.Dispose();
    }
}
