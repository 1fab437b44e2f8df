using Microsoft.Extensions.Logging;

namespace Psyne.Sockets;

/// <summary>
/// Per-socket settings, read when the socket binds or connects (later changes apply to later
/// connections). Names and defaults follow libzmq's options where one exists.
/// </summary>
public sealed class SocketOptions
{
    /// <summary>Messages queued per peer for sending before the type's high-water behaviour applies (ZMQ_SNDHWM). Default 1000.</summary>
    public int SendHighWatermark { get; set; } = 1000;

    /// <summary>Messages queued per peer on receipt before the connection stops reading (ZMQ_RCVHWM). Default 1000.</summary>
    public int ReceiveHighWatermark { get; set; } = 1000;

    /// <summary>Bytes of queue per peer and direction for small frames (larger frames travel by reference). Default 256 KiB.</summary>
    public int QueueBytes { get; set; } = 256 * 1024;

    /// <summary>How long <see cref="PsyneSocket.Dispose"/> waits to send what is queued (ZMQ_LINGER). Default 1 s; zero drops it at once.</summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The identity this socket announces (ZMQ_ROUTING_ID): a ROUTER peer routes to it by these bytes. 1..255 bytes, not starting with a zero byte; null for none.</summary>
    public byte[]? Identity { get; set; }

    /// <summary>Largest frame accepted from a peer, in bytes (ZMQ_MAXMSGSIZE); a larger one closes that connection. -1: no limit.</summary>
    public long MaxMessageSize { get; set; } = -1;

    /// <summary>First wait before reconnecting (ZMQ_RECONNECT_IVL). Default 100 ms.</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest wait between reconnects; each failed attempt doubles the wait up to this (ZMQ_RECONNECT_IVL_MAX). Default 10 s.</summary>
    public TimeSpan ReconnectIntervalMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for a peer's greeting and handshake (ZMQ_HANDSHAKE_IVL). Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Send a PING this often when heartbeats are on (ZMQ_HEARTBEAT_IVL). Zero: off.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.Zero;

    /// <summary>Close a connection that sent nothing (not even a PONG) for this long (ZMQ_HEARTBEAT_TIMEOUT). Zero: the interval.</summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>The TTL our PINGs ask the peer to apply (ZMQ_HEARTBEAT_TTL). Zero: none.</summary>
    public TimeSpan HeartbeatTtl { get; set; } = TimeSpan.Zero;

    /// <summary>ROUTER: an unroutable message throws <see cref="PsyneNotFoundException"/> instead of being dropped (ZMQ_ROUTER_MANDATORY).</summary>
    public bool RouterMandatory { get; set; }

    /// <summary>REQ: a new request may be sent before the reply came; the old one is abandoned (ZMQ_REQ_RELAXED).</summary>
    public bool ReqRelaxed { get; set; }

    /// <summary>REQ: each request carries an id, and replies to abandoned requests are discarded (ZMQ_REQ_CORRELATE).</summary>
    public bool ReqCorrelate { get; set; }

    /// <summary>Be the PLAIN server: peers must authenticate with a user name and password (ZMQ_PLAIN_SERVER).</summary>
    public bool PlainServer { get; set; }

    /// <summary>
    /// PLAIN server: decides whether a user name and password are accepted. Null accepts any,
    /// as libzmq does without a ZAP handler.
    /// </summary>
    public Func<string, string, bool>? PlainAuthenticator { get; set; }

    /// <summary>PLAIN client: the user name (ZMQ_PLAIN_USERNAME). Setting it makes the socket a PLAIN client.</summary>
    public string? PlainUsername { get; set; }

    /// <summary>PLAIN client: the password (ZMQ_PLAIN_PASSWORD).</summary>
    public string? PlainPassword { get; set; }

    /// <summary>Where connection problems are logged (a hostile peer's bad frame, a failed handshake). Null: not logged.</summary>
    public ILogger? Logger { get; set; }

    internal SocketOptions Snapshot() => (SocketOptions)MemberwiseClone();

    internal void Validate()
    {
        if (SendHighWatermark < 1 || ReceiveHighWatermark < 1)
            throw new ArgumentOutOfRangeException(nameof(SendHighWatermark), "High-water marks are 1 or more (0, libzmq's 'no limit', is not supported: a queue without a limit hides a slow peer).");
        if (QueueBytes < 4096 || QueueBytes > 1 << 30)
            throw new ArgumentOutOfRangeException(nameof(QueueBytes), QueueBytes, "QueueBytes is 4 KiB to 1 GiB.");
        if (Identity is { } id && (id.Length is 0 or > 255 || id[0] == 0))
            throw new ArgumentException("An identity is 1 to 255 bytes and does not start with a zero byte (those are reserved for generated ids).", nameof(Identity));
        if (PlainServer && PlainUsername is not null)
            throw new ArgumentException("A socket is either the PLAIN server or a PLAIN client, not both.", nameof(PlainServer));
        if (PlainUsername is { Length: > 255 } || PlainPassword is { Length: > 255 })
            throw new ArgumentException("PLAIN user names and passwords are at most 255 bytes.", nameof(PlainUsername));
    }
}
