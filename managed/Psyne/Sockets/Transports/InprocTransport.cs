using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

/// <summary>
/// <c>inproc://name</c>: two sockets of one process share a pair of queues, with no engine and
/// no thread in between; a frame is copied once, into the queue, and read where it lies.
/// A connect may come before the bind (the link completes when the name is bound), as in libzmq.
/// </summary>
internal static class InprocTransport
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, PsyneSocket> Bound = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, List<InprocLink>> Pending = new(StringComparer.Ordinal);

    public static SocketEndpoint Bind(PsyneSocket socket, SocketAddress address)
    {
        List<InprocLink>? waiting;
        lock (Gate)
        {
            if (Bound.TryGetValue(address.Path, out PsyneSocket? other) && !other.IsDisposed)
                throw new PsyneIOException($"{address.Original} is already bound by another socket ({other.Type.WireName()}).");
            Bound[address.Path] = socket;
            Pending.Remove(address.Path, out waiting);
        }
        var endpoint = new InprocListener(socket, address);
        socket.Raise(SocketEventKind.Listening, address.Original);
        foreach (InprocLink link in waiting ?? [])
            link.Complete(socket);
        return endpoint;
    }

    public static SocketEndpoint Connect(PsyneSocket socket, SocketAddress address)
    {
        var link = new InprocLink(socket, address);
        PsyneSocket? binder;
        lock (Gate)
        {
            if (!Bound.TryGetValue(address.Path, out binder) || binder.IsDisposed)
            {
                binder = null;
                if (!Pending.TryGetValue(address.Path, out List<InprocLink>? list))
                    Pending[address.Path] = list = [];
                list.Add(link);
            }
        }
        if (binder is not null)
        {
            if (!socket.Type.IsCompatibleWith(binder.Type))
                throw new PsyneArgumentException($"{address.Original}: a {socket.Type.WireName()} socket cannot talk to the {binder.Type.WireName()} socket bound there.");
            link.Complete(binder);
        }
        return link;
    }

    internal static void Unbind(InprocListener listener)
    {
        lock (Gate)
        {
            if (Bound.TryGetValue(listener.Requested["inproc://".Length..], out PsyneSocket? s) && s == listener.Socket)
                Bound.Remove(listener.Requested["inproc://".Length..]);
        }
    }

    internal static void Forget(InprocLink link)
    {
        lock (Gate)
        {
            if (Pending.TryGetValue(link.Path, out List<InprocLink>? list))
                list.Remove(link);
        }
    }

    internal sealed class InprocListener(PsyneSocket socket, SocketAddress address) : SocketEndpoint
    {
        public PsyneSocket Socket { get; } = socket;

        public override string Address => address.Original;

        public override string Requested => address.Original;

        public override bool IsListener => true;

        public override void StopAccepting() => Unbind(this);

        public override void Close()
        {
            Unbind(this);
            Socket.Raise(SocketEventKind.Closed, address.Original);
        }
    }

    /// <summary>One connecting socket's link: its pipe exists from the start, so it can queue before the bind.</summary>
    internal sealed class InprocLink : SocketEndpoint
    {
        private readonly PsyneSocket _connector;
        private readonly SocketAddress _address;
        private readonly FrameQueue _up;     // connector -> binder
        private readonly FrameQueue _down;   // binder -> connector
        private readonly Pipe _connectorPipe;
        private Pipe? _binderPipe;

        public InprocLink(PsyneSocket connector, SocketAddress address)
        {
            _connector = connector;
            _address = address;
            int bytes = connector.Options.QueueBytes;
            _up = new FrameQueue(bytes);
            _down = new FrameQueue(bytes);
            _connectorPipe = new Pipe(_up, _down, persistent: false, address.Original);
            connector.Attach(_connectorPipe);
        }

        public string Path => _address.Path;

        public override string Address => _address.Original;

        public override string Requested => _address.Original;

        public override bool IsListener => false;

        public void Complete(PsyneSocket binder)
        {
            if (!_connector.Type.IsCompatibleWith(binder.Type) || !binder.AcceptsAnotherPeer)
            {
                string reason = !binder.AcceptsAnotherPeer
                    ? $"the {binder.Type.WireName()} socket there already has its peer"
                    : $"a {_connector.Type.WireName()} socket cannot talk to a {binder.Type.WireName()} socket";
                _connectorPipe.Terminate();
                _connector.Raise(SocketEventKind.HandshakeFailed, _address.Original, reason);
                return;
            }
            var pipe = new Pipe(_down, _up, persistent: false, $"inproc peer of {_address.Original}")
            {
                RoutingId = _connector.AnnouncedIdentity ?? Pipe.NewRoutingId(),
                PeerSocketType = _connector.Type.WireName(),
            };
            _connectorPipe.RoutingId = binder.AnnouncedIdentity ?? Pipe.NewRoutingId();
            _connectorPipe.PeerSocketType = binder.Type.WireName();
            _binderPipe = pipe;
            binder.Attach(pipe);
            binder.Raise(SocketEventKind.Accepted, _address.Original);
            _connector.Raise(SocketEventKind.Connected, _address.Original);
            _connector.Raise(SocketEventKind.HandshakeSucceeded, _address.Original);
            binder.Raise(SocketEventKind.HandshakeSucceeded, _address.Original);
        }

        public override void Close()
        {
            Forget(this);
            // Ends both directions: each side reads what was queued, then sees the peer gone.
            _connectorPipe.Terminate();
            _binderPipe?.Terminate();
        }
    }
}
