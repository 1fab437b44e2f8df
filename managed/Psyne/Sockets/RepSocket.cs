using System.Buffers;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

/// <summary>
/// Replier: receive a request (fair-queued over peers), then send its reply, which goes back to
/// the peer that asked with the request's envelope (the frames up to the empty delimiter) in front.
/// </summary>
public sealed class RepSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Rep, options)
{
    private enum State { Idle, Receiving, MustReply, Replying }

    private readonly List<(byte[] Buffer, int Length)> _envelope = [];
    private State _state;

    private protected override bool FlushesInline => true;
    private Pipe? _peer;

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        data = default;
        more = false;
        if (_state is State.MustReply or State.Replying)
            throw new InvalidOperationException("REP: send the reply to the last request before receiving another.");
        while (true)
        {
            if (!ReceiveFairQueued(deadline, out QueuedFrame frame, out Pipe pipe))
                return false;
            if (_state == State.Receiving)
            {
                data = frame.Span;
                more = frame.More;
                if (!more)
                {
                    _state = State.MustReply;
                    CountReceived();
                }
                return true;
            }
            // The envelope: keep every frame up to and including the empty delimiter.
            ClearEnvelope();
            bool ok = true;
            while (true)
            {
                if (!frame.More)
                {
                    ok = false; // no delimiter: not a request we can answer
                    break;
                }
                if (frame.Length == 0)
                    break;
                byte[] copy = ArrayPool<byte>.Shared.Rent(frame.Length);
                frame.Span.CopyTo(copy);
                _envelope.Add((copy, frame.Length));
                ReleaseHeld();
                if (!ReceiveFrom(pipe, Deadlines.None, out frame))
                {
                    ok = false;
                    break;
                }
            }
            ReleaseHeld();
            if (!ok)
            {
                ForgetReceivePipe();
                if (frame.More)
                    pipe.In.DiscardRestOfMessage();
                continue;
            }
            _peer = pipe;
            _state = State.Receiving;
        }
    }

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline)
    {
        if (_state is State.Idle or State.Receiving)
            throw new InvalidOperationException("REP: receive a whole request before replying.");
        Pipe peer = _peer!;
        if (_state == State.MustReply)
        {
            _state = State.Replying;
            foreach (var (buffer, length) in _envelope)
                SendToPipe(peer, buffer.AsSpan(0, length), more: true, deadline, dropMode: false);
            SendToPipe(peer, [], more: true, deadline, dropMode: false);
        }
        bool sent = peer.IsTerminated || SendToPipe(peer, frame, more, deadline, dropMode: false);
        if (!more)
        {
            _state = State.Idle;
            _peer = null;
            ClearEnvelope();
            if (Dropping)
                EndDroppedFrame(false);
        }
        return sent;
    }

    private void ClearEnvelope()
    {
        foreach (var (buffer, _) in _envelope)
            ArrayPool<byte>.Shared.Return(buffer);
        _envelope.Clear();
    }
}
