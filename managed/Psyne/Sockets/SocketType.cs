namespace Psyne.Sockets;

/// <summary>The ZeroMQ socket patterns Psyne speaks. Values match libzmq's <c>ZMQ_*</c> numbers.</summary>
public enum SocketType
{
    /// <summary>Exclusive pair: one peer, both directions.</summary>
    Pair = 0,
    /// <summary>Publisher: sends to every subscriber whose subscription matches; drops at the high-water mark.</summary>
    Pub = 1,
    /// <summary>Subscriber: receives what matches its subscriptions.</summary>
    Sub = 2,
    /// <summary>Requester: send, then receive one reply, in lockstep; round-robin over peers.</summary>
    Req = 3,
    /// <summary>Replier: receive a request, then send its reply to the peer that asked.</summary>
    Rep = 4,
    /// <summary>Asynchronous requester: round-robin send, fair-queued receive, no envelope rules.</summary>
    Dealer = 5,
    /// <summary>Asynchronous replier: receives each message behind its sender's identity frame and routes by it.</summary>
    Router = 6,
    /// <summary>Pipeline sink: fair-queued receive.</summary>
    Pull = 7,
    /// <summary>Pipeline source: round-robin send, blocks at the high-water mark.</summary>
    Push = 8,
    /// <summary>Publisher that also receives its subscribers' subscriptions as messages.</summary>
    XPub = 9,
    /// <summary>Subscriber that sends subscriptions as messages (first byte 1 = subscribe, 0 = cancel).</summary>
    XSub = 10,
}

/// <summary>Wire names and the pairing rules of ZMTP (RFC 23/37).</summary>
public static class SocketTypes
{
    /// <summary>The name sent in the <c>Socket-Type</c> property ("REQ", "XPUB", ...).</summary>
    public static string WireName(this SocketType type) => type switch
    {
        SocketType.Pair => "PAIR",
        SocketType.Pub => "PUB",
        SocketType.Sub => "SUB",
        SocketType.Req => "REQ",
        SocketType.Rep => "REP",
        SocketType.Dealer => "DEALER",
        SocketType.Router => "ROUTER",
        SocketType.Pull => "PULL",
        SocketType.Push => "PUSH",
        SocketType.XPub => "XPUB",
        SocketType.XSub => "XSUB",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a socket type."),
    };

    /// <summary>True if a socket of type <paramref name="ours"/> may talk to one of type <paramref name="theirs"/>.</summary>
    public static bool IsCompatibleWith(this SocketType ours, SocketType theirs) => ours switch
    {
        SocketType.Req => theirs is SocketType.Rep or SocketType.Router,
        SocketType.Rep => theirs is SocketType.Req or SocketType.Dealer,
        SocketType.Dealer => theirs is SocketType.Rep or SocketType.Dealer or SocketType.Router,
        SocketType.Router => theirs is SocketType.Req or SocketType.Dealer or SocketType.Router,
        SocketType.Pub or SocketType.XPub => theirs is SocketType.Sub or SocketType.XSub,
        SocketType.Sub or SocketType.XSub => theirs is SocketType.Pub or SocketType.XPub,
        SocketType.Push => theirs is SocketType.Pull,
        SocketType.Pull => theirs is SocketType.Push,
        SocketType.Pair => theirs is SocketType.Pair,
        _ => false,
    };

    /// <summary>Parses a wire name (case-sensitive, as libzmq compares it).</summary>
    public static bool TryParseWireName(ReadOnlySpan<byte> name, out SocketType type)
    {
        foreach (SocketType t in Enum.GetValues<SocketType>())
        {
            if (name.SequenceEqual(System.Text.Encoding.ASCII.GetBytes(t.WireName())))
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }
}
