namespace Psyne.Sockets.Transports;

/// <summary><c>ipc://name</c> for sockets: shared-memory rings between processes.</summary>
internal static class IpcTransport
{
    public static SocketEndpoint Bind(PsyneSocket socket, SocketAddress address) =>
        throw new PsyneUnsupportedException($"{address.Original}: sockets over ipc:// (shared memory) are not implemented yet; use unix:///path between processes, or Psyne.Messaging.Channel for ipc:// rings.");

    public static SocketEndpoint Connect(PsyneSocket socket, SocketAddress address) => Bind(socket, address);
}
