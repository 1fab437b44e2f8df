using Psyne.Sockets.Internal;
using Psyne.Sockets.Transports;

namespace Psyne.Sockets;

// The three ways a pattern moves frames: load-balanced (round-robin) sending, fair-queued
// receiving, and fan-out to subscribers. Each keeps its place between calls; a multipart
// message always goes to, or comes from, one peer.
public abstract partial class PsyneSocket
{
    private Pipe? _sendPipe;         // the peer of the message being sent
    private bool _sendDropping;      // the message being sent is dropped (PUB at the mark, unroutable)
    private int _sendNext;           // round-robin position
    private Pipe? _receivePipe;      // the peer of the message being received
    private int _receiveNext;        // fair-queue position

    /// <summary>
    /// Lockstep patterns (REQ, REP) write each message from the caller's thread when the
    /// connection's sender is idle, which it always is between a request and its reply.
    /// </summary>
    private protected virtual bool FlushesInline => false;

    /// <summary>Round-robin: the whole message goes to the next peer with room; waits for one until the deadline.</summary>
    private protected bool SendLoadBalanced(ReadOnlySpan<byte> frame, bool more, long deadline)
    {
        if (_sendDropping)
        {
            _sendDropping = more; // the rest of a message whose peer left mid-way
            return true;
        }
        if (_sendPipe is null)
        {
            Pipe? pipe = WaitForPipe(frame.Length, deadline);
            if (pipe is null)
                return false;
            _sendPipe = pipe;
        }
        return WriteFrame(_sendPipe, frame, more, deadline, dropMode: false);
    }

    /// <summary>Sends to one chosen pipe (REP's reply, ROUTER's route, PAIR's peer), waiting for room.</summary>
    private protected bool SendToPipe(Pipe pipe, ReadOnlySpan<byte> frame, bool more, long deadline, bool dropMode)
    {
        _sendPipe = pipe;
        return WriteFrame(pipe, frame, more, deadline, dropMode);
    }

    /// <summary>True while a multipart message is being sent.</summary>
    private protected bool SendInProgress => _sendPipe is not null || _sendDropping;

    private protected Pipe? CurrentSendPipe => _sendPipe;

    /// <summary>Drops the rest of the message being sent (counted once, at its first frame).</summary>
    private protected bool DropFrame(bool more)
    {
        _sendDropping = more;
        return true;
    }

    private protected bool Dropping => _sendDropping;

    private bool WriteFrame(Pipe pipe, ReadOnlySpan<byte> frame, bool more, long deadline, bool dropMode)
    {
        FrameFlags flags = more ? FrameFlags.More : FrameFlags.None;
        if (frame.Length >= ZmtpEngine.DirectWriteMin && !dropMode && pipe.Owner is ZmtpEngine engine && !pipe.Out.HasUnpublished)
        {
            // A large frame goes from the caller's memory to the kernel. While the connection's
            // sender is still writing what was queued before it, wait for it rather than copy the
            // frame into the queue: the sender is bound by the kernel anyway, and the caller then
            // paces itself on the socket as a plain send() would.
            while (!engine.TryWriteDirect(frame, more))
            {
                if (engine.IsClosing || pipe.IsTerminated || IsDisposed)
                    goto Queue;
                if (!Writable.Wait(static e => e.DirectWriteReady, engine, deadline) && !engine.DirectWriteReady)
                    return false;
            }
            if (!more)
            {
                _sendPipe = null;
                CountSent();
            }
            return true;
        }
    Queue:
        while (!pipe.Out.TryWrite(frame, flags))
        {
            if (pipe.IsTerminated)
                break;
            if (dropMode)
            {
                // A publisher never waits: a frame that does not fit drops the whole message.
                pipe.Out.Rollback();
                CountDropped();
                _sendPipe = null;
                _sendDropping = more;
                return true;
            }
            if (!Writable.Wait(static st => st.Pipe.Out.HasRoomFor(st.Size) || st.Pipe.IsTerminated || st.Socket.IsDisposed,
                    new RoomState(this, pipe, frame.Length), deadline) && !IsDisposed)
            {
                if (pipe.Out.HasRoomFor(frame.Length))
                    continue;
                if (!pipe.Out.HasUnpublished)
                    _sendPipe = null;
                return false;
            }
            if (IsDisposed)
                return false;
        }
        if (!more)
        {
            if (FlushesInline && pipe.Owner is ZmtpEngine connection)
            {
                pipe.Out.Publish(notify: false);
                connection.FlushFromCaller();
            }
            else
            {
                pipe.Out.Publish();
            }
            _sendPipe = null;
            CountSent();
        }
        else if (pipe.IsTerminated)
        {
            // The peer went away mid-message: the rest of the message goes nowhere.
            _sendPipe = null;
            _sendDropping = true;
        }
        return true;
    }

    /// <summary>Ends a message whose frames were all dropped (or whose peer vanished).</summary>
    private protected void EndDroppedFrame(bool more) => _sendDropping = more;

    private Pipe? PickRoundRobin(int firstFrameSize)
    {
        Pipe[] pipes = Pipes;
        int hwm = Options.SendHighWatermark;
        for (int i = 0; i < pipes.Length; i++)
        {
            Pipe p = pipes[(_sendNext + i) % pipes.Length];
            if (!p.IsTerminated && p.Out.QueuedMessages < hwm && p.Out.HasRoomFor(firstFrameSize))
            {
                _sendNext = (_sendNext + i + 1) % pipes.Length;
                return p;
            }
        }
        return null;
    }

    /// <summary>The next peer with room for a message starting with a frame of <paramref name="size"/> bytes, waiting for one until the deadline.</summary>
    private Pipe? WaitForPipe(int size, long deadline)
    {
        while (true)
        {
            Pipe? pipe = PickRoundRobin(size);
            if (pipe is not null || IsDisposed)
                return pipe;
            PruneFinished();
            if (!Writable.Wait(static st => st.Socket.HasRoundRobinRoom(st.Size) || st.Socket.IsDisposed, new SizeState(this, size), deadline))
                return PickRoundRobin(size);
        }
    }

    private bool HasRoundRobinRoom(int size)
    {
        int hwm = Options.SendHighWatermark;
        foreach (Pipe p in Pipes)
        {
            if (!p.IsTerminated && p.Out.QueuedMessages < hwm && p.Out.HasRoomFor(size))
                return true;
        }
        return false;
    }

    private readonly record struct RoomState(PsyneSocket Socket, Pipe Pipe, int Size);

    private readonly record struct SizeState(PsyneSocket Socket, int Size);

    /// <summary>Fan-out: one copy per peer whose subscriptions match (or every peer when <paramref name="filter"/> is false); peers at the mark miss it (counted).</summary>
    private protected bool SendDistributed(ReadOnlySpan<byte> frame, bool more, bool filter)
    {
        Pipe[] pipes = Pipes;
        bool first = !_distributing;
        if (first)
        {
            ProcessSubscriptionsFromPeers();
            _distributing = true;
            int hwm = Options.SendHighWatermark;
            EnsureMatchCapacity(pipes.Length);
            for (int i = 0; i < pipes.Length; i++)
            {
                Pipe p = pipes[i];
                bool wants = !p.IsTerminated && (!filter || p.Subscriptions.Matches(frame));
                if (wants && (p.Out.QueuedMessages >= hwm || !p.Out.HasRoomFor(frame.Length)))
                {
                    wants = false;
                    CountDropped();
                }
                _matched[i] = wants;
            }
            _distributionPipes = pipes;
        }
        Pipe[] targets = _distributionPipes!;
        FrameFlags flags = more ? FrameFlags.More : FrameFlags.None;
        for (int i = 0; i < targets.Length; i++)
        {
            if (!_matched[i])
                continue;
            Pipe p = targets[i];
            if (!p.Out.TryWrite(frame, flags))
            {
                p.Out.Rollback();
                _matched[i] = false;
                CountDropped();
                continue;
            }
            if (!more)
            {
                p.Out.Publish();
                CountSent();
            }
        }
        if (!more)
        {
            _distributing = false;
            _distributionPipes = null;
        }
        return true;
    }

    private bool _distributing;
    private Pipe[]? _distributionPipes;
    private bool[] _matched = new bool[4];

    private void EnsureMatchCapacity(int n)
    {
        if (_matched.Length < n)
            _matched = new bool[Math.Max(n, _matched.Length * 2)];
    }

    /// <summary>Applies the SUBSCRIBE and CANCEL records peers queued (publishing sockets).</summary>
    private protected void ProcessSubscriptionsFromPeers()
    {
        foreach (Pipe p in Pipes)
        {
            FrameQueue q = p.In;
            if (q == _heldQueue)
                continue;
            while (q.TryPeek(out QueuedFrame f) && (f.Flags & (FrameFlags.Subscribe | FrameFlags.Cancel)) != 0)
            {
                OnSubscription(p, f.Span, subscribe: (f.Flags & FrameFlags.Subscribe) != 0);
                q.Consume(f);
            }
        }
        PruneFinished();
    }

    /// <summary>A peer subscribed or cancelled (PUB, XPUB).</summary>
    private protected virtual void OnSubscription(Pipe pipe, ReadOnlySpan<byte> topic, bool subscribe)
    {
        if (subscribe)
            pipe.Subscriptions.Add(topic);
        else
            pipe.Subscriptions.Remove(topic);
    }

    /// <summary>
    /// Fair-queued: the next frame from the next peer that has one; a multipart message comes
    /// whole from one peer. The frame stays in its queue until the next receive.
    /// </summary>
    private protected bool ReceiveFairQueued(long deadline, out QueuedFrame frame, out Pipe pipe)
    {
        while (true)
        {
            if (TryReceiveFairQueued(out frame, out pipe))
                return true;
            if (IsDisposed || HasLocalMessages)
                return false;
            if (InlineReader(deadline) is { } engine && engine.TryReadInline())
                continue;
            bool ready = Readable.Wait(static s => s.AnyReadable(), this, deadline);
            if (!ready && !AnyReadable())
                return false;
        }
    }

    /// <summary>
    /// Messages the socket made itself while receiving (XPUB: the cancels of a subscriber it just
    /// forgot); a fair-queued receive returns false at once so the caller can hand them out.
    /// </summary>
    private protected virtual bool HasLocalMessages => false;

    /// <summary>Only from <paramref name="pipe"/> (REQ waits for its reply from the peer it asked).</summary>
    private protected bool ReceiveFrom(Pipe pipe, long deadline, out QueuedFrame frame)
    {
        while (true)
        {
            if (pipe.In.TryPeek(out frame))
            {
                Hold(pipe.In, frame);
                return true;
            }
            if (pipe.In.IsCompleted || IsDisposed)
                return false;
            if (InlineReader(deadline) is { } engine && engine.TryReadInline())
                continue;
            bool ready = Readable.Wait(static p => p.In.HasData() || p.In.IsCompleted, pipe, deadline);
            if (!ready && !pipe.In.HasData())
                return false;
        }
    }

    /// <summary>
    /// The connection this thread may read itself while it waits: the socket's only peer, over a
    /// stream, with time left to wait (a zero-timeout poll never blocks in a read).
    /// </summary>
    private ZmtpEngine? InlineReader(long deadline) =>
        Pipes is [{ Owner: ZmtpEngine engine }] && (deadline == Deadlines.None || Deadlines.RemainingMilliseconds(deadline) >= 25) ? engine : null;

    private bool AnyReadable()
    {
        if (_receivePipe is { } current)
            return current.In.HasData() || current.In.IsCompleted;
        foreach (Pipe p in Pipes)
        {
            if (p.In.HasData() || p.IsFinished)
                return true;
        }
        return IsDisposed;
    }

    private bool TryReceiveFairQueued(out QueuedFrame frame, out Pipe pipe)
    {
        if (_receivePipe is { } current)
        {
            pipe = current;
            if (current.In.TryPeek(out frame))
            {
                if (!frame.More)
                    _receivePipe = null;
                Hold(current.In, frame);
                return true;
            }
            if (!current.In.IsCompleted)
                return false;
            _receivePipe = null; // its peer died mid-message; the queue rolled the part back
        }
        Pipe[] pipes = Pipes;
        bool finished = false;
        for (int i = 0; i < pipes.Length; i++)
        {
            int index = (_receiveNext + i) % pipes.Length;
            Pipe p = pipes[index];
            if (p.In.TryPeek(out frame))
            {
                _receiveNext = index + 1;
                if (frame.More)
                    _receivePipe = p;
                pipe = p;
                Hold(p.In, frame);
                return true;
            }
            finished |= p.IsFinished;
        }
        if (finished)
            PruneFinished();
        frame = default;
        pipe = null!;
        return false;
    }

    private protected void ForgetReceivePipe() => _receivePipe = null;
}
