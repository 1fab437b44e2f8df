namespace Psyne.Sockets.Internal;

/// <summary>What a queued frame is, beside its bytes.</summary>
[Flags]
internal enum FrameFlags
{
    None = 0,
    /// <summary>More frames of the same message follow.</summary>
    More = 1,
    /// <summary>A subscription (the bytes are the topic prefix), sent as SUBSCRIBE on ZMTP 3.1.</summary>
    Subscribe = 2,
    /// <summary>A cancelled subscription, sent as CANCEL on ZMTP 3.1.</summary>
    Cancel = 4,
    /// <summary>Internal: the payload lives in a pooled array of its own, not in the ring.</summary>
    OutOfLine = 8,
    /// <summary>Internal: filler up to the end of the ring.</summary>
    Pad = 16,
}
