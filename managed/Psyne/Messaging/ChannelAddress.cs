using System.Diagnostics.CodeAnalysis;

namespace Psyne.Messaging;

/// <summary>Where a channel's ring lives.</summary>
public enum ChannelTransport
{
    /// <summary><c>inproc://name</c>: this process's heap; every thread of the process sees the same ring. Zero copies.</summary>
    InProcess = 0,
    /// <summary><c>ipc://name</c>: a shared-memory segment mapped by every process that opens it. Zero copies.</summary>
    Ipc = 1,
}

/// <summary>
/// A parsed channel address: <c>inproc://name</c> or <c>ipc://name</c>. The one parser of channel
/// URIs; every factory goes through it. Parsing allocates only the name string.
/// </summary>
/// <remarks>
/// A name is 1 to <see cref="MaxNameLength"/> characters of <c>[A-Za-z0-9._-]</c> and does not start
/// with '.': the same rule for both transports, so a name moves from one to the other unchanged.
/// The scheme is case-insensitive; the name is not.
/// </remarks>
public readonly record struct ChannelAddress
{
    /// <summary>The longest name, in characters (<c>PSYNE_IPC_NAME_MAX</c>).</summary>
    public const int MaxNameLength = Interop.PsyneNative.PSYNE_IPC_NAME_MAX;

    // Schemes the design names for other transports: a clear "not yet" instead of "unknown".
    private static readonly string[] PlannedSchemes = ["unix", "tcp", "udp", "multicast", "fabric", "rdma", "quic", "webrtc"];

    private ChannelAddress(ChannelTransport transport, string name)
    {
        Transport = transport;
        Name = name;
    }

    /// <summary>The transport the scheme names.</summary>
    public ChannelTransport Transport { get; }

    /// <summary>The name after <c>scheme://</c>.</summary>
    public string Name { get; }

    /// <summary>Creates an address from its parts, checking the name.</summary>
    /// <exception cref="ArgumentException">The name breaks the naming rule.</exception>
    public static ChannelAddress Create(ChannelTransport transport, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (transport is not (ChannelTransport.InProcess or ChannelTransport.Ipc))
            throw new ArgumentOutOfRangeException(nameof(transport), transport, "Expected InProcess or Ipc.");
        string? problem = CheckName(name);
        if (problem is not null)
            throw new ArgumentException($"'{Scheme(transport)}://{name}' is not a valid channel address: {problem}", nameof(name));
        return new ChannelAddress(transport, name);
    }

    /// <summary>Parses <c>inproc://name</c> or <c>ipc://name</c>.</summary>
    /// <exception cref="ArgumentException">Not a channel URI: no scheme, an unknown scheme, or a bad name. The message says which and what is expected.</exception>
    /// <exception cref="PsyneUnsupportedException">A scheme of a transport Psyne plans but does not provide yet (tcp://, unix://, ...).</exception>
    public static ChannelAddress Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (TryParse(uri, out ChannelAddress address, out string? problem, out bool planned))
            return address;
        if (planned)
            throw new PsyneUnsupportedException(problem);
        throw new ArgumentException(problem, nameof(uri));
    }

    /// <summary>Parses a channel URI; false (no exception) if it is not one.</summary>
    public static bool TryParse([NotNullWhen(true)] string? uri, out ChannelAddress address) =>
        TryParse(uri, out address, out _, out _);

    private static bool TryParse(string? uri, out ChannelAddress address, [NotNullWhen(false)] out string? problem, out bool planned)
    {
        address = default;
        planned = false;
        if (string.IsNullOrEmpty(uri))
        {
            problem = "a channel URI is empty; expected inproc://name or ipc://name";
            return false;
        }
        int separator = uri.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            problem = $"'{uri}' is not a channel URI: expected inproc://name or ipc://name";
            return false;
        }
        string scheme = uri[..separator];
        string name = uri[(separator + 3)..];
        ChannelTransport transport;
        if (scheme.Equals("inproc", StringComparison.OrdinalIgnoreCase))
        {
            transport = ChannelTransport.InProcess;
        }
        else if (scheme.Equals("ipc", StringComparison.OrdinalIgnoreCase))
        {
            transport = ChannelTransport.Ipc;
        }
        else
        {
            planned = Array.Exists(PlannedSchemes, s => s.Equals(scheme, StringComparison.OrdinalIgnoreCase));
            problem = planned
                ? $"'{uri}': {scheme}:// channels are planned but not implemented yet; this version of Psyne provides inproc:// and ipc://"
                : $"'{uri}' has the unknown scheme '{scheme}': expected inproc://name or ipc://name";
            return false;
        }
        string? bad = CheckName(name);
        if (bad is not null)
        {
            problem = $"'{uri}' is not a valid channel address: {bad}";
            return false;
        }
        address = new ChannelAddress(transport, name);
        problem = null;
        return true;
    }

    private static string? CheckName(string name)
    {
        if (name.Length == 0)
            return "the name after :// is empty";
        if (name.Length > MaxNameLength)
            return $"the name is {name.Length} characters long; at most {MaxNameLength} are allowed";
        if (name[0] == '.')
            return "the name must not start with '.'";
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return $"the name contains '{c}'; use only letters, digits, '.', '_' and '-'";
        }
        return null;
    }

    private static string Scheme(ChannelTransport transport) => transport == ChannelTransport.Ipc ? "ipc" : "inproc";

    /// <summary>The URI: <c>inproc://name</c> or <c>ipc://name</c>. Allocates the string.</summary>
    public override string ToString() => Name is null ? "" : $"{Scheme(Transport)}://{Name}";
}
