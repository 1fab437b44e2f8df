namespace Psyne.Sockets;

/// <summary>
/// One received frame, seen where it lies in the socket's queue: no copy, no allocation. Valid
/// until the next receive call on the same socket (or its disposal); copy what must live longer.
/// </summary>
public readonly ref struct ReceivedFrame
{
    internal ReceivedFrame(ReadOnlySpan<byte> data, bool more)
    {
        Data = data;
        More = more;
    }

    /// <summary>The frame's bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>True if more frames of the same message follow.</summary>
    public bool More { get; }

    /// <summary>The frame's length in bytes.</summary>
    public int Length => Data.Length;

    /// <summary>A copy of the bytes.</summary>
    public byte[] ToArray() => Data.ToArray();

    /// <summary>The bytes as UTF-8 text.</summary>
    public override string ToString() => System.Text.Encoding.UTF8.GetString(Data);
}
