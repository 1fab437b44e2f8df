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
/// a message whose first byte is 1 (subscribe) or 0 (cancel), followed by the topic. As libzmq's
/// XPUB does by default, a subscription is handed out when the first subscriber asks for a prefix
/// and a cancel when the last one drops it, by cancelling or by going away; so a proxy forwarding
/// them upstream subscribes to what its subscribers want, once.
/// </summary>
public sealed class XPubSocket(SocketOptions? options = null) : PubSocket(SocketType.XPub, options)
{
    // Subscriptions applied while sending, still to be handed to the application.
    private readonly Queue<byte[]> _pending = new();
    private byte[]? _current;

    // How many subscribers hold each prefix (counted), to tell the first and the last.
    private readonly SubscriptionSet _subscribers = new(counted: true);

    private protected override void OnSubscription(Pipe pipe, ReadOnlySpan<byte> topic, bool subscribe)
    {
        bool changed = subscribe ? pipe.Subscriptions.Add(topic) : pipe.Subscriptions.Remove(topic);
        if (!changed)
            return; // this subscriber already had it (or never had it): not news, as in libzmq
        if (subscribe ? _subscribers.Add(topic) : _subscribers.Remove(topic))
            Report(topic, subscribe); // the first subscriber to ask, or the last to drop it
    }

    /// <summary>A subscriber went away: its prefixes that nobody else holds are cancelled, as libzmq's XPUB does.</summary>
    private protected override void OnPipeDetached(Pipe pipe)
    {
        foreach (byte[] topic in pipe.Subscriptions.Prefixes())
        {
            if (_subscribers.Remove(topic))
                Report(topic, subscribe: false);
        }
        pipe.Subscriptions.Clear();
    }

    private protected override bool HasLocalMessages => _pending.Count > 0;

    private void Report(ReadOnlySpan<byte> topic, bool subscribe)
    {
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
                if (_pending.Count > 0)
                    continue; // a departed subscriber's cancels
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
