using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

public abstract partial class PsyneSocket
{
    /// <summary>The plain fair-queued receive of PULL, DEALER, PAIR and XSUB.</summary>
    private protected bool ReceivePlain(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        if (!ReceiveFairQueued(deadline, out QueuedFrame frame, out _))
        {
            data = default;
            more = false;
            return false;
        }
        data = frame.Span;
        more = frame.More;
        if (!more)
            CountReceived();
        return true;
    }

    private protected bool CannotSend() =>
        throw new NotSupportedException($"A {Type.WireName()} socket does not send.");

    private protected bool CannotReceive(out ReadOnlySpan<byte> data, out bool more) =>
        throw new NotSupportedException($"A {Type.WireName()} socket does not receive.");
}

/// <summary>Pipeline source: each message goes to the next peer with room (round-robin); waits at the high-water mark.</summary>
public sealed class PushSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Push, options)
{
    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) =>
        SendLoadBalanced(frame, more, deadline);

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        CannotReceive(out data, out more);
}

/// <summary>Pipeline sink: receives from every peer in turn (fair-queued).</summary>
public sealed class PullSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Pull, options)
{
    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) => CannotSend();

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        ReceivePlain(deadline, out data, out more);
}

/// <summary>Asynchronous request side: round-robin sends, fair-queued receives, no envelope rules.</summary>
public sealed class DealerSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Dealer, options)
{
    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) =>
        SendLoadBalanced(frame, more, deadline);

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        ReceivePlain(deadline, out data, out more);
}

/// <summary>Exclusive pair: one peer at a time; a second is refused while the first is attached.</summary>
public sealed class PairSocket(SocketOptions? options = null) : PsyneSocket(SocketType.Pair, options)
{
    internal override bool AcceptsAnotherPeer => Pipes.All(p => p.IsTerminated);

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) =>
        SendLoadBalanced(frame, more, deadline);

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        ReceivePlain(deadline, out data, out more);
}

public abstract partial class PsyneSocket
{
    /// <summary>Forgets the held frame without consuming it (ROUTER hands it out again after the identity).</summary>
    private protected void ClearHeld() => _heldQueue = null;
}
