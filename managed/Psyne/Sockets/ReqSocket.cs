using System.Buffers.Binary;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

/// <summary>
/// Requester: send a request (to the next peer, round-robin), then receive its reply from that
/// peer, in strict alternation. A request whose reply never comes does not wedge the socket:
/// <see cref="Reset"/> abandons it, and with <see cref="SocketOptions.ReqRelaxed"/> a new send does
/// so implicitly. With <see cref="SocketOptions.ReqCorrelate"/> requests carry an id and a late
/// reply to an abandoned request is discarded.
/// </summary>
public sealed class ReqSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Req, options)
{
    private enum State { Idle, Sending, AwaitingReply, Receiving }

    private State _state;

    private protected override bool FlushesInline => true;
    private Pipe? _peer;
    private uint _requestId = (uint)Random.Shared.Next();

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline)
    {
        if (_state is State.AwaitingReply or State.Receiving)
        {
            if (!Options.ReqRelaxed)
                throw new InvalidOperationException("REQ: a request is outstanding; receive its reply first, call Reset(), or set SocketOptions.ReqRelaxed.");
            Reset();
        }
        if (_state == State.Idle)
        {
            // The envelope: [request id,] empty delimiter; all to one peer.
            Span<byte> id = stackalloc byte[4];
            _requestId++;
            if (Options.ReqCorrelate)
            {
                BinaryPrimitives.WriteUInt32BigEndian(id, _requestId);
                if (!SendLoadBalanced(id, more: true, deadline))
                    return false;
                if (!SendLoadBalanced([], more: true, deadline))
                    return false;
            }
            else if (!SendLoadBalanced([], more: true, deadline))
            {
                return false;
            }
            _peer = CurrentSendPipe;
            _state = State.Sending;
        }
        if (!SendLoadBalanced(frame, more, deadline))
            return false;
        if (!more)
            _state = State.AwaitingReply;
        return true;
    }

    /// <summary>
    /// Abandons the outstanding request (its reply, if it ever comes, is discarded when
    /// <see cref="SocketOptions.ReqCorrelate"/> is on) so the socket can send again.
    /// </summary>
    public void Reset()
    {
        ThrowIfDisposed();
        ReleaseHeld();
        if (_state == State.Receiving && _peer is not null)
            SkipRestOfMessage(_peer);
        ForgetReceivePipe();
        _state = State.Idle;
        _peer = null;
    }

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        data = default;
        more = false;
        if (_state == State.Idle)
            throw new InvalidOperationException("REQ: send a request before receiving.");
        if (_state == State.Sending)
            throw new InvalidOperationException("REQ: the request is not complete (its last frame was sent with more = true).");
        Pipe peer = _peer!;
        while (true)
        {
            if (!ReceiveFrom(peer, deadline, out QueuedFrame frame))
            {
                if (peer.IsFinished)
                    throw new PsyneClosedException("REQ: the peer that has the request went away; call Reset() and send again.");
                return false;
            }
            if (_state == State.Receiving)
            {
                data = frame.Span;
                more = frame.More;
                if (!more)
                {
                    _state = State.Idle;
                    CountReceived();
                }
                return true;
            }
            if (AcceptEnvelope(peer, frame))
            {
                _state = State.Receiving;
                continue;
            }
            // Not the reply we wait for (a late reply, or a malformed one): AcceptEnvelope discarded it whole.
        }
    }

    /// <summary>Consumes the reply's envelope; false if it is not this request's, with that whole message discarded.</summary>
    private bool AcceptEnvelope(Pipe peer, QueuedFrame first)
    {
        bool more = first.More;
        if (Options.ReqCorrelate)
        {
            bool match = first.Length == 4 && BinaryPrimitives.ReadUInt32BigEndian(first.Span) == _requestId;
            ReleaseHeld();
            if (!match || !more)
            {
                if (more)
                    SkipRestOfMessage(peer);
                return false;
            }
            if (!ReceiveFrom(peer, Deadlines.None, out first))
                return false;
            more = first.More;
        }
        bool delimiter = first.Length == 0 && first.More;
        ReleaseHeld();
        if (!delimiter && more)
            SkipRestOfMessage(peer);
        return delimiter;
    }

    private void SkipRestOfMessage(Pipe peer)
    {
        ReleaseHeld();
        peer.In.DiscardRestOfMessage();
    }
}
