namespace Psyne.Sockets;

/// <summary>Counters of one socket, since it was created.</summary>
/// <param name="MessagesSent">Whole messages queued for sending (once per peer a PUB delivers to).</param>
/// <param name="MessagesReceived">Whole messages handed to the application.</param>
/// <param name="MessagesDropped">Messages dropped at a high-water mark or for want of a route (PUB, XPUB, ROUTER). Never silent: also the <c>psyne.socket.drops</c> counter of the <c>Psyne</c> meter.</param>
/// <param name="Peers">Peers attached now (connected or, for a connecting socket, waiting to reconnect).</param>
public readonly record struct SocketStatistics(long MessagesSent, long MessagesReceived, long MessagesDropped, int Peers);
