namespace Psyne.Messaging;

/// <summary>
/// A snapshot of a channel's counters (<see cref="Channel.GetStatistics"/>). They are shared by
/// every handle of the channel; for ipc, by every process that maps it.
/// </summary>
/// <param name="MessagesWritten">Records committed (aborted reservations not counted).</param>
/// <param name="BytesWritten">Payload bytes committed.</param>
/// <param name="MessagesRead">Records handed to consumers.</param>
/// <param name="BytesRead">Payload bytes handed to consumers.</param>
/// <param name="Drops">Records refused under <see cref="FullPolicy.Drop"/>.</param>
/// <param name="Rejects">Reserves refused under <see cref="FullPolicy.Fail"/> (and tries that found the ring full under it).</param>
/// <param name="ProducerStalls">Blocking reserves that slept.</param>
/// <param name="ConsumerStalls">Blocking reads that slept.</param>
/// <param name="UsedBytes">Ring bytes reserved or not yet released, now.</param>
/// <param name="Capacity">Ring data bytes.</param>
public readonly record struct ChannelStatistics(
    long MessagesWritten, long BytesWritten, long MessagesRead, long BytesRead, long Drops, long Rejects,
    long ProducerStalls, long ConsumerStalls, long UsedBytes, long Capacity);

/// <summary>The state of a channel (values as <c>psyne_channel_state</c>).</summary>
public enum ChannelState
{
    /// <summary>Open for writing and reading.</summary>
    Open = 0,
    /// <summary>Shut down, or every peer closed cleanly: consumers drain what was committed, then get <see cref="PsyneClosedException"/>.</summary>
    Closed = 1,
    /// <summary>A peer process died or the ring was found corrupt (<see cref="Channel.FaultPid"/>). Committed records are still delivered.</summary>
    Faulted = 2,
}
