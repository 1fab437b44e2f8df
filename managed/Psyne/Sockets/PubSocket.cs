using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

/// <summary>
/// Publisher: each message goes to every subscriber with a matching prefix subscription,
/// filtered here, before it is queued. Never waits: a subscriber at its high-water mark misses
/// the message, and the drop is counted.
/// </summary>
public class PubSocket : PsyneSocket
{
    /// <summary>Creates a publisher.</summary>
    public PubSocket(SocketOptions? options = null)
        : this(SocketType.Pub, options)
    {
    }

    private protected PubSocket(SocketType type, SocketOptions? options)
        : base(type, options)
    {
    }

    /// <summary>Subscribers attached now and how many distinct prefixes each asked for (diagnostics).</summary>
    public int[] SubscriptionCounts
    {
        get
        {
            ProcessSubscriptionsFromPeers();
            return [.. Pipes.Select(p => p.Subscriptions.Count)];
        }
    }

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) =>
        SendDistributed(frame, more, filter: true);

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        CannotReceive(out data, out more);
}

/// <summary>
/// Publisher that also hands its subscribers' subscriptions to the application: each arrives as
/// a message whose first byte is 1 (subscribe) or 0 (cancel), followed by the topic.
/// </summary>
public sealed class XPubSocket(SocketOptions? options = null) : PubSocket(SocketType.XPub, options)
{
    // Subscriptions applied while sending, still to be handed to the application.
    private readonly Queue<byte[]> _pending = new();
    private byte[]? _current;

    private protected override void OnSubscription(Pipe pipe, ReadOnlySpan<byte> topic, bool subscribe)
    {
        bool changed = subscribe ? pipe.Subscriptions.Add(topic) : pipe.Subscriptions.Remove(topic);
        if (!changed)
            return; // a repeated subscription (or a cancel of one still held) is not news, as in libzmq
        byte[] message = new byte[topic.Length + 1];
        message[0] = subscribe ? (byte)1 : (byte)0;
        topic.CopyTo(message.AsSpan(1));
        _pending.Enqueue(message);
    }

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        while (true)
        {
            if (_pending.TryDequeue(out _current))
            {
                data = _current;
                more = false;
                CountReceived();
                return true;
            }
            if (!ReceiveFairQueued(deadline, out QueuedFrame frame, out Pipe pipe))
            {
                data = default;
                more = false;
                return false;
            }
            if ((frame.Flags & (FrameFlags.Subscribe | FrameFlags.Cancel)) != 0)
            {
                OnSubscription(pipe, frame.Span, (frame.Flags & FrameFlags.Subscribe) != 0);
                ReleaseHeld();
                continue;
            }
            data = frame.Span;
            more = frame.More;
            if (!more)
                CountReceived();
            return true;
        }
    }
}
