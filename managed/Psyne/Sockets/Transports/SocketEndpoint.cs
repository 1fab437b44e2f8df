namespace Psyne.Sockets.Transports;

/// <summary>A bound or connected endpoint of a socket: a listener, a connector, or an in-process link.</summary>
internal abstract class SocketEndpoint
{
    /// <summary>The endpoint as resolved (a bound port filled in).</summary>
    public abstract string Address { get; }

    /// <summary>True for bound endpoints.</summary>
    public abstract bool IsListener { get; }

    /// <summary>True if <paramref name="endpoint"/> names this endpoint, as given or as resolved.</summary>
    public virtual bool Matches(string endpoint) =>
        string.Equals(endpoint, Address, StringComparison.Ordinal) || string.Equals(endpoint, Requested, StringComparison.Ordinal);

    /// <summary>The endpoint as the application wrote it.</summary>
    public abstract string Requested { get; }

    /// <summary>Stops taking new peers (a listener stops accepting, a connector stops retrying); connections stay.</summary>
    public virtual void StopAccepting()
    {
    }

    /// <summary>Closes the endpoint and every connection it made.</summary>
    public abstract void Close();
}

/// <summary>Picks the transport for an address.</summary>
internal static class TransportFactory
{
    public static SocketEndpoint Bind(PsyneSocket socket, SocketAddress address) => address.Scheme switch
    {
        SocketScheme.Tcp or SocketScheme.Unix => StreamListener.Start(socket, address),
        SocketScheme.Inproc => InprocTransport.Bind(socket, address),
        SocketScheme.Ipc => IpcTransport.Bind(socket, address),
        _ => throw new ArgumentOutOfRangeException(nameof(address)),
    };

    public static SocketEndpoint Connect(PsyneSocket socket, SocketAddress address) => address.Scheme switch
    {
        SocketScheme.Tcp or SocketScheme.Unix => StreamConnector.Start(socket, address),
        SocketScheme.Inproc => InprocTransport.Connect(socket, address),
        SocketScheme.Ipc => IpcTransport.Connect(socket, address),
        _ => throw new ArgumentOutOfRangeException(nameof(address)),
    };
}
