namespace Psyne.Sockets;

/// <summary>What happened to one of a socket's endpoints or connections (libzmq's monitor events).</summary>
public enum SocketEventKind
{
    /// <summary>A bind succeeded; <see cref="SocketEventArgs.Endpoint"/> is the address bound.</summary>
    Listening,
    /// <summary>A peer connected to a bound endpoint (before its handshake).</summary>
    Accepted,
    /// <summary>An outgoing connection was established (before its handshake).</summary>
    Connected,
    /// <summary>A connect attempt failed; another follows after the back-off.</summary>
    ConnectRetried,
    /// <summary>The ZMTP handshake completed: messages flow.</summary>
    HandshakeSucceeded,
    /// <summary>The handshake failed (bad greeting, wrong version, incompatible socket type, authentication); the connection was closed.</summary>
    HandshakeFailed,
    /// <summary>An established connection ended (peer closed, protocol error, heartbeat timeout).</summary>
    Disconnected,
    /// <summary>A bound endpoint was closed.</summary>
    Closed,
}

/// <summary>One monitor event.</summary>
public sealed class SocketEventArgs : EventArgs
{
    internal SocketEventArgs(SocketEventKind kind, string endpoint, string? reason)
    {
        Kind = kind;
        Endpoint = endpoint;
        Reason = reason;
    }

    /// <summary>What happened.</summary>
    public SocketEventKind Kind { get; }

    /// <summary>The endpoint or peer address it happened on.</summary>
    public string Endpoint { get; }

    /// <summary>Why, for failures and disconnects (a protocol error's description); null otherwise.</summary>
    public string? Reason { get; }

    /// <inheritdoc/>
    public override string ToString() => Reason is null ? $"{Kind} {Endpoint}" : $"{Kind} {Endpoint}: {Reason}";
}
