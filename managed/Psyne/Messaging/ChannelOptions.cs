using Psyne.Interop;

namespace Psyne.Messaging;

/// <summary>Who may write and read a channel at once (values as <c>psyne_channel_kind</c>).</summary>
public enum ChannelKind
{
    /// <summary>One producer thread and one consumer thread at a time.</summary>
    Spsc = 0,
    /// <summary>Any number of producers (threads or processes), one consumer.</summary>
    Mpsc = 1,
    /// <summary>One producer, any number of consumers; each record goes to exactly one consumer.</summary>
    Spmc = 2,
    /// <summary>Any number on both sides.</summary>
    Mpmc = 3,
}

/// <summary>What a blocked call does while it waits (values as <c>psyne_wait_policy</c>).</summary>
public enum WaitPolicy
{
    /// <summary>Busy-poll with a pause instruction: the lowest latency; burns a core while waiting.</summary>
    Spin = 0,
    /// <summary>Poll <see cref="ChannelOptions.SpinCount"/> times, then yield the CPU between polls.</summary>
    SpinYield = 1,
    /// <summary>Spin, yield, then sleep on a futex word in the ring's header (the default). A peer that keeps up costs no system call.</summary>
    SpinYieldFutex = 2,
}

/// <summary>What a producer gets when the ring has no room (values as <c>psyne_full_policy</c>).</summary>
public enum FullPolicy
{
    /// <summary>Reserve waits for room, up to its timeout (<see cref="PsyneTimeoutException"/> after). The default.</summary>
    Block = 0,
    /// <summary>The record is dropped at once and counted (<see cref="ChannelStatistics.Drops"/>); nothing is thrown.</summary>
    Drop = 1,
    /// <summary>Reserve throws <see cref="PsyneFullException"/> at once (counted in <see cref="ChannelStatistics.Rejects"/>).</summary>
    Fail = 2,
}

/// <summary>Which side(s) a handle takes (values as <c>psyne_channel_role</c>). Liveness and "closed" are judged per role.</summary>
public enum ChannelRole
{
    /// <summary>Reserves and commits only.</summary>
    Producer = 1,
    /// <summary>Reads and releases only.</summary>
    Consumer = 2,
    /// <summary>Both sides (the default; an inproc ring shared by the threads of a process).</summary>
    Both = 3,
}

/// <summary>Whether opening may create the channel.</summary>
public enum ChannelOpenMode
{
    /// <summary>Open the channel if it exists, else create it with the options given (the default).</summary>
    OpenOrCreate = 0,
    /// <summary>Create the channel; it is an error if it exists.</summary>
    CreateNew = 1,
    /// <summary>Open an existing channel; <see cref="PsyneNotFoundException"/> if there is none.</summary>
    OpenExisting = 2,
}

/// <summary>
/// Settings a channel is created with. A plain immutable object: build one with an object
/// initializer (<c>new ChannelOptions { Kind = ChannelKind.Mpsc, Capacity = 1 &lt;&lt; 16 }</c>) and
/// reuse it. The defaults are libpsyne's (<c>psyne_channel_options_init</c>).
/// </summary>
public sealed record ChannelOptions
{
    /// <summary>The smallest ring, in bytes.</summary>
    public const long MinCapacity = PsyneNative.PSYNE_CHANNEL_MIN_CAPACITY;

    /// <summary>The largest ring, in bytes (1 GiB).</summary>
    public const long MaxCapacity = PsyneNative.PSYNE_CHANNEL_MAX_CAPACITY;

    /// <summary>The default ring, in bytes (1 MiB).</summary>
    public const long DefaultCapacity = PsyneNative.PSYNE_CHANNEL_DEFAULT_CAPACITY;

    /// <summary>The options every channel gets when none are given.</summary>
    public static ChannelOptions Default { get; } = new();

    /// <summary>Who may write and read at once. Default <see cref="ChannelKind.Spsc"/>.</summary>
    public ChannelKind Kind { get; init; } = ChannelKind.Spsc;

    /// <summary>
    /// Bytes of ring data: a power of two from <see cref="MinCapacity"/> to <see cref="MaxCapacity"/>.
    /// Each record takes its payload plus an 8-byte header, rounded up to 8 bytes; the largest
    /// payload is <c>Capacity - 16</c> (<see cref="Channel.MaxPayload"/>).
    /// </summary>
    public long Capacity { get; init; } = DefaultCapacity;

    /// <summary>What blocked calls do while they wait. Default <see cref="WaitPolicy.SpinYieldFutex"/>.</summary>
    public WaitPolicy WaitPolicy { get; init; } = WaitPolicy.SpinYieldFutex;

    /// <summary>What a producer gets when the ring is full. Default <see cref="FullPolicy.Block"/>.</summary>
    public FullPolicy FullPolicy { get; init; } = FullPolicy.Block;

    /// <summary>
    /// Polls before yielding (<see cref="WaitPolicy.SpinYield"/>, <see cref="WaitPolicy.SpinYieldFutex"/>). Default 2000.
    /// On SPSC channels a blocked call first spends up to this many CPU pauses spinning in managed
    /// code (looks at the ring spaced by doubling pauses, except under <see cref="WaitPolicy.Spin"/>),
    /// then libpsyne's wait polls this many times before it yields.
    /// </summary>
    public int SpinCount { get; init; } = PsyneNative.PSYNE_CHANNEL_DEFAULT_SPIN_COUNT;

    /// <summary>Yields before sleeping (<see cref="WaitPolicy.SpinYieldFutex"/>). Default 50.</summary>
    public int YieldCount { get; init; } = PsyneNative.PSYNE_CHANNEL_DEFAULT_YIELD_COUNT;

    /// <summary>inproc: back the ring with huge pages where the system allows (quietly falls back). Default false.</summary>
    public bool HugePages { get; init; }

    internal psyne_channel_options ToNative()
    {
        if (Capacity < 0)
            throw new ArgumentOutOfRangeException(nameof(Capacity), Capacity, "The capacity must not be negative.");
        ArgumentOutOfRangeException.ThrowIfNegative(SpinCount);
        ArgumentOutOfRangeException.ThrowIfNegative(YieldCount);
        // Enum values and the capacity are checked by libpsyne, which names what it expected.
        return new psyne_channel_options
        {
            kind = (int)Kind,
            full_policy = (int)FullPolicy,
            wait_policy = (int)WaitPolicy,
            spin_count = (uint)SpinCount,
            yield_count = (uint)YieldCount,
            flags = HugePages ? (uint)psyne_channel_flags.PSYNE_CHANNEL_HUGE_PAGES : 0,
            capacity = (ulong)Capacity,
        };
    }
}
