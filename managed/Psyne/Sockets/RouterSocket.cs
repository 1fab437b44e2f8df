using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

/// <summary>
/// Routes by identity: every received message comes behind a frame naming its sender (the
/// peer's <c>Identity</c>, or a generated 5-byte id), and every sent message starts with the
/// identity frame of the peer to route it to. An unknown identity, or a peer at its high-water
/// mark, drops the message (counted), or throws with <see cref="SocketOptions.RouterMandatory"/>.
/// </summary>
public sealed class RouterSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Router, options)
{
    private bool _identityGiven;     // the identity frame went out; the message's first frame is next
    private FrameQueue? _firstQueue;
    private QueuedFrame _first;

    /// <summary>The identities of the peers attached now.</summary>
    public IReadOnlyList<byte[]> PeerIdentities => [.. Pipes.Where(p => !p.IsTerminated).Select(p => p.RoutingId)];

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline)
    {
        if (_expectIdentity)
        {
            if (!more)
                return true; // an identity alone is not a message
            _expectIdentity = false;
            Pipe? pipe = Find(frame);
            string? problem = pipe is null ? "no peer with identity"
                : pipe.Out.QueuedMessages >= Options.SendHighWatermark ? "at its high-water mark:" : null;
            if (problem is not null)
            {
                if (Options.RouterMandatory)
                {
                    _expectIdentity = true;
                    string id = Convert.ToHexString(frame);
                    if (pipe is null)
                        throw new PsyneNotFoundException($"ROUTER: no peer with identity {id} (RouterMandatory is on).");
                    throw new PsyneFullException($"ROUTER: peer {id} is at its high-water mark of {Options.SendHighWatermark} messages (RouterMandatory is on).");
                }
                CountDropped();
                _dropping = true;
                return true;
            }
            _target = pipe;
            return true;
        }
        if (!more)
            _expectIdentity = true;
        if (_dropping)
        {
            _dropping = more;
            return true;
        }
        bool sent = SendToPipe(_target!, frame, more, deadline, dropMode: !Options.RouterMandatory);
        if (Dropping)
        {
            // The peer's queue filled mid-message (counted) or the peer left: drop the rest.
            EndDroppedFrame(false);
            _dropping = more;
        }
        if (!more)
            _target = null;
        return sent;
    }

    private bool _expectIdentity = true;
    private bool _dropping;
    private Pipe? _target;
    private Pipe? Find(ReadOnlySpan<byte> identity)
    {
        foreach (Pipe p in Pipes)
        {
            if (!p.IsTerminated && identity.SequenceEqual(p.RoutingId))
                return p;
        }
        return null;
    }

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        if (_identityGiven)
        {
            _identityGiven = false;
            Hold(_firstQueue!, _first);
            data = _first.Span;
            more = _first.More;
            if (!more)
                CountReceived();
            return true;
        }
        if (!ReceiveFairQueued(deadline, out QueuedFrame frame, out Pipe pipe))
        {
            data = default;
            more = false;
            return false;
        }
        if (!InMessage)
        {
            // First frame of a message: hand out the sender's identity, keep the frame for the next call.
            UnholdForLater(pipe.In, frame);
            data = pipe.RoutingId;
            more = true;
            return true;
        }
        data = frame.Span;
        more = frame.More;
        InMessage = more;
        if (!more)
            CountReceived();
        return true;
    }

    private bool InMessage { get; set; }

    private void UnholdForLater(FrameQueue queue, in QueuedFrame frame)
    {
        ClearHeld();
        _firstQueue = queue;
        _first = frame;
        _identityGiven = true;
        InMessage = frame.More;
    }
}
