using System.Diagnostics.CodeAnalysis;
using System.Text;
using Psyne.Sockets.Internal;
using Psyne.Sockets.Transports;

namespace Psyne.Sockets;

/// <summary>
/// A ZeroMQ-style socket: one of the <see cref="SocketType"/> patterns over any number of peers,
/// reached through <c>tcp://</c>, <c>unix://</c>, <c>inproc://</c> or <c>ipc://</c> endpoints.
/// Over tcp and unix it speaks ZMTP 3.1, so libzmq and NetMQ peers interoperate.
/// </summary>
/// <remarks>
/// Like a ZeroMQ socket, an instance is used by one thread at a time (any thread; hand it over
/// with the usual memory barriers). Connections run on their own threads. Sending and receiving
/// allocate nothing in steady state: frames are copied into per-peer queues (large frames into
/// pooled buffers) and received frames are views into those queues.
/// </remarks>
public abstract partial class PsyneSocket : IDisposable
{
    private readonly Lock _pipesLock = new();
    private readonly List<SocketEndpoint> _endpoints = [];
    private Pipe[] _pipes = [];
    private int _disposed;

    // The frame handed out by the last receive; consumed at the next one (so its view stays valid).
    private FrameQueue? _heldQueue;
    private QueuedFrame _heldFrame;

    private long _sent;
    private long _received;
    private long _dropped;

    private protected PsyneSocket(SocketType type, SocketOptions? options)
    {
        Psyne.Native.NativeRuntime.EnsureInitialized();
        Type = type;
        Options = options ?? new SocketOptions();
    }

    /// <summary>The pattern.</summary>
    public SocketType Type { get; }

    /// <summary>Settings; read at each bind and connect.</summary>
    public SocketOptions Options { get; }

    /// <summary>Monitor events: listening, accepted, connected, handshake succeeded or failed, disconnected. Raised on connection threads; keep handlers short.</summary>
    public event EventHandler<SocketEventArgs>? Events;

    /// <summary>Counters since creation.</summary>
    public SocketStatistics Statistics => new(Volatile.Read(ref _sent), Volatile.Read(ref _received), Volatile.Read(ref _dropped), Pipes.Length);

    /// <summary>The endpoints bound or connected now, as resolved (a bound <c>tcp://*:0</c> shows its port).</summary>
    public IReadOnlyList<string> Endpoints
    {
        get
        {
            lock (_pipesLock)
                return [.. _endpoints.Select(e => e.Address)];
        }
    }

    internal WaitSignal Readable { get; } = new();

    internal WaitSignal Writable { get; } = new();

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal Pipe[] Pipes => Volatile.Read(ref _pipes);

    // ---- endpoints ---------------------------------------------------------------------------

    /// <summary>
    /// Accepts peers at <paramref name="endpoint"/>: <c>tcp://host:port</c> (<c>*</c> for every
    /// interface, port <c>0</c> or <c>*</c> for any free one), <c>unix:///path</c>,
    /// <c>inproc://name</c> or <c>ipc://name</c>.
    /// </summary>
    /// <returns>The endpoint as bound, with the real port: pass it to peers.</returns>
    /// <exception cref="ArgumentException">A malformed or unknown endpoint.</exception>
    /// <exception cref="PsyneIOException">The address is in use or cannot be bound.</exception>
    public string Bind(string endpoint)
    {
        ThrowIfDisposed();
        Options.Validate();
        SocketEndpoint bound = TransportFactory.Bind(this, SocketAddress.Parse(endpoint));
        lock (_pipesLock)
            _endpoints.Add(bound);
        return bound.Address;
    }

    /// <summary>
    /// Connects to a peer at <paramref name="endpoint"/> and keeps connecting: if the peer is not
    /// there yet or goes away, the socket retries with back-off. Messages sent meanwhile are
    /// queued for it up to the high-water mark.
    /// </summary>
    /// <exception cref="ArgumentException">A malformed or unknown endpoint.</exception>
    public void Connect(string endpoint)
    {
        ThrowIfDisposed();
        Options.Validate();
        SocketEndpoint connection = TransportFactory.Connect(this, SocketAddress.Parse(endpoint));
        lock (_pipesLock)
            _endpoints.Add(connection);
    }

    /// <summary>Stops accepting at a bound endpoint (connections already accepted stay).</summary>
    /// <exception cref="PsyneNotFoundException">Nothing is bound there.</exception>
    public void Unbind(string endpoint) => RemoveEndpoint(endpoint, listener: true);

    /// <summary>Closes the connection to <paramref name="endpoint"/> and stops reconnecting; its queued messages are dropped.</summary>
    /// <exception cref="PsyneNotFoundException">Not connected there.</exception>
    public void Disconnect(string endpoint) => RemoveEndpoint(endpoint, listener: false);

    private void RemoveEndpoint(string endpoint, bool listener)
    {
        ThrowIfDisposed();
        SocketEndpoint? found;
        lock (_pipesLock)
        {
            found = _endpoints.FirstOrDefault(e => e.IsListener == listener && e.Matches(endpoint));
            if (found is not null)
                _endpoints.Remove(found);
        }
        if (found is null)
            throw new PsyneNotFoundException($"{Type.WireName()} socket: not {(listener ? "bound to" : "connected to")} {endpoint}.");
        found.Close();
    }

    // ---- sending -----------------------------------------------------------------------------

    /// <summary>
    /// Sends one frame; <paramref name="more"/> says another frame of the same message follows.
    /// Waits while the pattern says to wait at the high-water mark (PUSH, DEALER, REQ, PAIR);
    /// PUB, XPUB and ROUTER drop instead (counted in <see cref="Statistics"/>).
    /// </summary>
    /// <exception cref="NotSupportedException">The pattern does not send (PULL, SUB).</exception>
    /// <exception cref="InvalidOperationException">The pattern's state forbids it now (REQ before the reply, REP before a request).</exception>
    public void Send(ReadOnlySpan<byte> frame, bool more = false)
    {
        ThrowIfDisposed();
        if (!SendFrame(frame, more, Deadlines.None))
            throw new PsyneClosedException($"{Type.WireName()} socket: the send could not complete because the socket was closed.");
    }

    /// <summary>Sends UTF-8 text as one frame.</summary>
    public void Send(string text, bool more = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        int n = Encoding.UTF8.GetBytes(text, buffer);
        try
        {
            Send(buffer[..n], more);
        }
        finally
        {
            if (rented is not null)
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Sends one frame if it can within <paramref name="timeout"/> (<see cref="TimeSpan.Zero"/>:
    /// only if it can now).
    /// </summary>
    /// <returns>False if no peer had room in time (nothing was sent).</returns>
    public bool TrySend(ReadOnlySpan<byte> frame, bool more, TimeSpan timeout)
    {
        ThrowIfDisposed();
        return SendFrame(frame, more, Deadlines.From(timeout));
    }

    /// <summary>Sends a whole message, one frame per element.</summary>
    public void SendMultipart(params IReadOnlyList<byte[]> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0)
            throw new ArgumentException("A message has at least one frame.", nameof(frames));
        for (int i = 0; i < frames.Count; i++)
            Send(frames[i], more: i < frames.Count - 1);
    }

    // ---- receiving ---------------------------------------------------------------------------

    /// <summary>Waits for the next frame. The view is valid until the next receive on this socket.</summary>
    /// <exception cref="NotSupportedException">The pattern does not receive (PUSH, PUB).</exception>
    public ReceivedFrame Receive()
    {
        if (!TryReceive(Timeout.InfiniteTimeSpan, out ReceivedFrame frame))
            throw new PsyneClosedException($"{Type.WireName()} socket: closed while receiving.");
        return frame;
    }

    /// <summary>Receives the next frame if one arrives within <paramref name="timeout"/>.</summary>
    public bool TryReceive(TimeSpan timeout, out ReceivedFrame frame)
    {
        ThrowIfDisposed();
        ReleaseHeld();
        if (ReceiveFrame(Deadlines.From(timeout), out ReadOnlySpan<byte> data, out bool more))
        {
            frame = new ReceivedFrame(data, more);
            return true;
        }
        frame = default;
        return false;
    }

    /// <summary>Receives one frame as a new array.</summary>
    public byte[] ReceiveBytes(out bool more)
    {
        ReceivedFrame frame = Receive();
        more = frame.More;
        return frame.ToArray();
    }

    /// <summary>Receives one frame as UTF-8 text.</summary>
    public string ReceiveString() => Receive().ToString();

    /// <summary>Receives one frame as UTF-8 text.</summary>
    public string ReceiveString(out bool more)
    {
        ReceivedFrame frame = Receive();
        more = frame.More;
        return frame.ToString();
    }

    /// <summary>Receives a whole message (all its frames) as new arrays.</summary>
    public List<byte[]> ReceiveMultipart()
    {
        if (!TryReceiveMultipart(Timeout.InfiniteTimeSpan, out List<byte[]>? frames))
            throw new PsyneClosedException($"{Type.WireName()} socket: closed while receiving.");
        return frames;
    }

    /// <summary>Receives a whole message if its first frame arrives within <paramref name="timeout"/>.</summary>
    public bool TryReceiveMultipart(TimeSpan timeout, [NotNullWhen(true)] out List<byte[]>? frames)
    {
        if (!TryReceive(timeout, out ReceivedFrame first))
        {
            frames = null;
            return false;
        }
        frames = [first.ToArray()];
        bool more = first.More;
        while (more)
        {
            ReceivedFrame next = Receive();
            frames.Add(next.ToArray());
            more = next.More;
        }
        return true;
    }

    // ---- what each pattern defines -------------------------------------------------------------

    /// <summary>Sends one frame by the pattern's rules; false when the deadline passed first.</summary>
    private protected abstract bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline);

    /// <summary>Receives one frame by the pattern's rules; false when the deadline passed first.</summary>
    private protected abstract bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more);

    /// <summary>A peer was attached (connection thread or, in process, the peer's thread).</summary>
    private protected virtual void OnPipeAttached(Pipe pipe)
    {
    }

    /// <summary>The identity this socket announces in its handshake.</summary>
    internal virtual byte[]? AnnouncedIdentity => Options.Identity;

    /// <summary>Whether a second peer may attach (PAIR takes one).</summary>
    internal virtual bool AcceptsAnotherPeer => true;

    // ---- pipes -------------------------------------------------------------------------------

    internal void Attach(Pipe pipe)
    {
        pipe.Out.ProducerSignal = Writable;
        pipe.In.ConsumerSignal = Readable;
        lock (_pipesLock)
        {
            if (IsDisposed)
            {
                pipe.Terminate();
                return;
            }
            _pipes = [.. _pipes, pipe];
        }
        OnPipeAttached(pipe);
        Readable.NotifyAlways();
        Writable.NotifyAlways();
    }

    internal void Detach(Pipe pipe)
    {
        lock (_pipesLock)
        {
            int i = Array.IndexOf(_pipes, pipe);
            if (i < 0)
                return;
            Pipe[] next = new Pipe[_pipes.Length - 1];
            Array.Copy(_pipes, 0, next, 0, i);
            Array.Copy(_pipes, i + 1, next, i, _pipes.Length - i - 1);
            _pipes = next;
        }
        OnPipeDetached(pipe);
        Readable.NotifyAlways();
        Writable.NotifyAlways();
    }

    /// <summary>A peer's pipe was forgotten (it is gone and drained, or the application disconnected it).</summary>
    private protected virtual void OnPipeDetached(Pipe pipe)
    {
    }

    /// <summary>Forgets pipes whose peer has gone and whose messages have all been read.</summary>
    private protected void PruneFinished()
    {
        foreach (Pipe p in Pipes)
        {
            if (p.IsFinished)
                Detach(p);
        }
    }

    /// <summary>Keeps the frame a receive handed out until the next receive, so its view stays valid.</summary>
    private protected void Hold(FrameQueue queue, in QueuedFrame frame)
    {
        _heldQueue = queue;
        _heldFrame = frame;
    }

    private protected void ReleaseHeld()
    {
        if (_heldQueue is { } q)
        {
            _heldQueue = null;
            q.Consume(_heldFrame);
        }
    }

    private protected void CountSent() => _sent++;

    private protected void CountReceived() => _received++;

    private protected void CountDropped()
    {
        _dropped++;
        SocketMetrics.AddDrop(Type);
    }

    internal void Raise(SocketEventKind kind, string endpoint, string? reason = null) =>
        Events?.Invoke(this, new SocketEventArgs(kind, endpoint, reason));

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    // ---- closing -----------------------------------------------------------------------------

    /// <summary>
    /// Closes the socket: stops accepting and connecting, waits up to <see cref="SocketOptions.Linger"/>
    /// for queued messages to be handed to the network, then closes every connection.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        ReleaseHeld();
        SocketEndpoint[] endpoints;
        lock (_pipesLock)
        {
            endpoints = [.. _endpoints];
            _endpoints.Clear();
        }
        long lingerDeadline = Deadlines.From(Options.Linger);
        foreach (SocketEndpoint e in endpoints)
            e.StopAccepting();
        // Linger: let connections drain what is queued.
        while (!Deadlines.Passed(lingerDeadline) && !Pipes.All(IsFlushed))
            Thread.Sleep(1);
        foreach (SocketEndpoint e in endpoints)
            e.Close();
        Pipe[] pipes;
        lock (_pipesLock)
        {
            pipes = _pipes;
            _pipes = [];
        }
        foreach (Pipe p in pipes)
        {
            p.Out.CloseProducer();
            p.In.CloseConsumer();
        }
        Readable.NotifyAlways();
        Writable.NotifyAlways();
        GC.SuppressFinalize(this);
    }

    /// <summary>True when nothing queued for this peer still waits for the network (in process, the peer reads the queue after we close).</summary>
    private static bool IsFlushed(Pipe p) => p.IsTerminated || p.Owner switch
    {
        ZmtpEngine engine => p.Out.IsDrained && engine.IsIdle,
        StreamConnector connector => p.Out.IsDrained && (connector.Engine?.IsIdle ?? true),
        _ => true,
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Type.WireName()} socket [{string.Join(", ", Endpoints)}]";
}
