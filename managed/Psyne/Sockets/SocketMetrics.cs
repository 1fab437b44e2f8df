using System.Diagnostics.Metrics;

namespace Psyne.Sockets;

/// <summary>
/// The socket instruments of the <c>Psyne</c> meter: <c>psyne.socket.drops</c> (tag
/// <c>psyne.socket.type</c>), counted where a pattern drops a message (a publisher's subscriber at
/// its high-water mark, a ROUTER message without a route), so no loss is silent. Message counts
/// per socket are in <see cref="PsyneSocket.Statistics"/>; nothing is measured per message here.
/// </summary>
internal static class SocketMetrics
{
    private static readonly Meter Meter = new("Psyne", typeof(SocketMetrics).Assembly.GetName().Version?.ToString());
    private static readonly Counter<long> Drops = Meter.CreateCounter<long>("psyne.socket.drops", "{message}",
        "Messages a socket dropped at a high-water mark or for want of a route.");

    public static void AddDrop(SocketType type) =>
        Drops.Add(1, new KeyValuePair<string, object?>("psyne.socket.type", type.WireName()));
}
