using Psyne.Sockets.Internal;

namespace Psyne.Sockets;

/// <summary>
/// Subscriber: receives the messages whose first frame starts with one of its subscriptions.
/// Subscriptions travel to publishers (SUBSCRIBE/CANCEL on ZMTP 3.1), which filter before
/// sending; the subscriber filters again, as libzmq does, so a peer that sends more is harmless.
/// </summary>
public class SubSocket : PsyneSocket
{
    private readonly Lock _subscriptionLock = new();
    private readonly Dictionary<string, (byte[] Topic, int Count)> _subscriptions = [];
    private readonly SubscriptionSet _filter = new();
    private bool _skipping;

    /// <summary>Creates a subscriber (subscribed to nothing: it receives nothing until <see cref="Subscribe(ReadOnlySpan{byte})"/>).</summary>
    public SubSocket(SocketOptions? options = null)
        : this(SocketType.Sub, options)
    {
    }

    private protected SubSocket(SocketType type, SocketOptions? options)
        : base(type, options)
    {
    }

    /// <summary>
    /// Receives messages whose first frame starts with <paramref name="prefix"/> (empty: every
    /// message). Counted: two subscribes need two unsubscribes. As libzmq does, each subscribe is
    /// sent to the publishers, and a cancel only when the last subscription to the prefix goes.
    /// </summary>
    public void Subscribe(ReadOnlySpan<byte> prefix)
    {
        ThrowIfDisposed();
        ChangeSubscription(prefix, subscribe: true);
    }

    /// <summary>Subscribes to a UTF-8 topic prefix.</summary>
    public void Subscribe(string prefix) => Subscribe(System.Text.Encoding.UTF8.GetBytes(prefix));

    /// <summary>Cancels one subscription to <paramref name="prefix"/>; an unknown prefix is ignored.</summary>
    public void Unsubscribe(ReadOnlySpan<byte> prefix)
    {
        ThrowIfDisposed();
        ChangeSubscription(prefix, subscribe: false);
    }

    /// <summary>Cancels a UTF-8 topic prefix.</summary>
    public void Unsubscribe(string prefix) => Unsubscribe(System.Text.Encoding.UTF8.GetBytes(prefix));

    private protected void ChangeSubscription(ReadOnlySpan<byte> prefix, bool subscribe)
    {
        string key = Convert.ToHexString(prefix);
        lock (_subscriptionLock)
        {
            if (subscribe)
            {
                _subscriptions[key] = _subscriptions.TryGetValue(key, out var e) ? (e.Topic, e.Count + 1) : (prefix.ToArray(), 1);
                _filter.Add(prefix);
            }
            else
            {
                if (!_subscriptions.TryGetValue(key, out var e))
                    return;
                _filter.Remove(prefix);
                if (e.Count > 1)
                {
                    // Still subscribed: publishers (libzmq's, and Psyne's) keep a set per subscriber,
                    // so a CANCEL now would drop the prefix the application still holds once.
                    _subscriptions[key] = (e.Topic, e.Count - 1);
                    return;
                }
                _subscriptions.Remove(key);
            }
            FrameFlags flags = subscribe ? FrameFlags.Subscribe : FrameFlags.Cancel;
            foreach (Pipe p in Pipes)
            {
                if (p.IsTerminated)
                    continue;
                // Subscriptions are few and small; a full queue means a stuck publisher, so skip it:
                // it gets the whole set again when it reconnects.
                if (p.Out.TryWrite(prefix, flags))
                    p.Out.Publish();
            }
        }
    }

    /// <summary>
    /// A new connection's engine, under the subscription lock: drops subscription records queued
    /// for an earlier connection and returns the whole set to announce, so each is sent once.
    /// </summary>
    internal List<byte[]> TakeSubscriptionsForNewConnection(Pipe pipe)
    {
        lock (_subscriptionLock)
        {
            pipe.Out.DiscardAll();
            // Each prefix once: a publisher keeps a set (see ChangeSubscription).
            return [.. _subscriptions.Values.Select(e => e.Topic)];
        }
    }

    private protected override void OnPipeAttached(Pipe pipe)
    {
        if (pipe.Owner is not null)
            return; // a connection announces the set itself on each handshake
        lock (_subscriptionLock)
        {
            foreach (var (topic, _) in _subscriptions.Values)
                pipe.Out.TryWrite(topic, FrameFlags.Subscribe);
            pipe.Out.Publish();
        }
    }

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline) => CannotSend();

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more)
    {
        while (true)
        {
            if (!ReceiveFairQueued(deadline, out QueuedFrame frame, out _))
            {
                data = default;
                more = false;
                return false;
            }
            bool first = !_skipping && !_inMessage;
            if (_skipping || (first && !Matches(frame.Span)))
            {
                _skipping = frame.More;
                ReleaseHeld();
                continue;
            }
            data = frame.Span;
            more = frame.More;
            _inMessage = more;
            if (!more)
                CountReceived();
            return true;
        }
    }

    private bool _inMessage;

    // The filter is changed and read only by the socket's own thread.
    private bool Matches(ReadOnlySpan<byte> topic) => _filter.Matches(topic);
}

/// <summary>
/// Subscriber whose subscriptions are messages: send a message whose first byte is 1 to
/// subscribe to the rest of its bytes, 0 to cancel. Other messages go to every publisher.
/// Receives everything publishers send it (no local filter).
/// </summary>
public sealed class XSubSocket(SocketOptions? options = null) : SubSocket(SocketType.XSub, options)
{
    private bool _forwarding;

    private protected override bool SendFrame(ReadOnlySpan<byte> frame, bool more, long deadline)
    {
        if (!_forwarding && !more && frame.Length > 0 && frame[0] is 0 or 1)
        {
            ChangeSubscription(frame[1..], subscribe: frame[0] == 1);
            return true;
        }
        _forwarding = more;
        return SendDistributed(frame, more, filter: false);
    }

    private protected override bool ReceiveFrame(long deadline, out ReadOnlySpan<byte> data, out bool more) =>
        ReceivePlain(deadline, out data, out more);
}
