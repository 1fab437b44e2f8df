namespace Psyne.Sockets.Internal;

/// <summary>
/// A socket's link to one peer: a queue each way. The socket's thread writes <see cref="Out"/>
/// and reads <see cref="In"/>; the other end is a connection's engine or, in process, the peer
/// socket itself (whose pipe has the same two queues swapped).
/// </summary>
internal sealed class Pipe
{
    private static long s_nextRoutingId = Random.Shared.NextInt64(1, int.MaxValue);

    public Pipe(FrameQueue outbound, FrameQueue inbound, bool persistent, string description)
    {
        Out = outbound;
        In = inbound;
        Persistent = persistent;
        Description = description;
        RoutingId = NewRoutingId();
    }

    /// <summary>Frames the socket sends to the peer.</summary>
    public FrameQueue Out { get; }

    /// <summary>Frames the peer sent to the socket.</summary>
    public FrameQueue In { get; }

    /// <summary>
    /// A connecting socket's pipe outlives its connections: messages queued while the peer is
    /// away are sent when it comes back (as ZeroMQ does). An accepted connection's pipe ends with it.
    /// </summary>
    public bool Persistent { get; }

    /// <summary>The peer, for logs and errors ("tcp://127.0.0.1:5555").</summary>
    public string Description { get; }

    /// <summary>The peer's identity as a ROUTER addresses it: its Identity property, or a generated 5-byte id.</summary>
    public byte[] RoutingId { get; set; }

    /// <summary>The peer's socket type once its handshake is done (null before).</summary>
    public string? PeerSocketType { get; set; }

    /// <summary>
    /// What the peer subscribed to (publishing sockets only; their thread owns it). A set, not a
    /// count, as libzmq's publishers keep it: libzmq subscribers send SUBSCRIBE for each subscribe
    /// call but CANCEL only when the last one goes, so counting left them subscribed for ever.
    /// </summary>
    public SubscriptionSet Subscriptions { get; } = new(counted: false);

    /// <summary>True once the peer has gone for good: nothing more arrives, nothing more is sent.</summary>
    public bool IsTerminated => Out.ConsumerClosed;

    /// <summary>Dead and drained: the socket can forget it.</summary>
    public bool IsFinished => Out.ConsumerClosed && In.IsCompleted;

    /// <summary>The engine serving it now, if any (for disconnect).</summary>
    public object? Owner { get; set; }

    /// <summary>Ends the pipe from the peer's side: the socket reads what is queued, then drops the pipe.</summary>
    public void Terminate()
    {
        In.CloseProducer();
        Out.CloseConsumer();
    }

    /// <summary>libzmq's form: a zero byte then a 32-bit number, so generated ids never collide with the empty id.</summary>
    public static byte[] NewRoutingId()
    {
        uint n = (uint)Interlocked.Increment(ref s_nextRoutingId);
        return [0, (byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n];
    }
}
