using System.Net;
using Psyne.Messaging;

namespace Psyne.Sockets.Transports;

/// <summary>Which transport an endpoint names.</summary>
internal enum SocketScheme { Tcp, Unix, Inproc, Ipc }

/// <summary>
/// A parsed socket endpoint. The one parser of socket URIs: <c>tcp://host:port</c>,
/// <c>unix:///absolute/path</c> (libzmq spells this <c>ipc:///path</c>), <c>inproc://name</c>
/// and <c>ipc://name</c> (Psyne's shared-memory rings).
/// </summary>
internal sealed record SocketAddress(SocketScheme Scheme, string Host, int Port, string Path, string Original)
{
    /// <summary>The longest Unix socket path Linux takes (sun_path is 108 bytes with the NUL).</summary>
    public const int MaxUnixPath = 107;

    public static SocketAddress Parse(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        int sep = endpoint.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0)
            throw new ArgumentException($"'{endpoint}' is not an endpoint: expected tcp://host:port, unix:///path, inproc://name or ipc://name.", nameof(endpoint));
        string scheme = endpoint[..sep].ToLowerInvariant();
        string rest = endpoint[(sep + 3)..];
        switch (scheme)
        {
            case "tcp":
                return ParseTcp(endpoint, rest);
            case "unix":
                if (!rest.StartsWith('/'))
                    throw new ArgumentException($"'{endpoint}': a unix endpoint names an absolute path, as in unix:///run/app.sock.", nameof(endpoint));
                if (System.Text.Encoding.UTF8.GetByteCount(rest) > MaxUnixPath)
                    throw new ArgumentException($"'{endpoint}': the path is longer than the {MaxUnixPath} bytes a Unix socket address holds.", nameof(endpoint));
                return new SocketAddress(SocketScheme.Unix, "", 0, rest, endpoint);
            case "inproc":
                if (rest.Length == 0)
                    throw new ArgumentException($"'{endpoint}': an inproc endpoint needs a name.", nameof(endpoint));
                return new SocketAddress(SocketScheme.Inproc, "", 0, rest, endpoint);
            case "ipc":
                if (rest.StartsWith('/'))
                    throw new ArgumentException($"'{endpoint}': Psyne's ipc:// is shared memory and takes a name, not a path; for a Unix domain socket (libzmq's ipc:///path) write unix://{rest}.", nameof(endpoint));
                ChannelAddress.Parse($"ipc://{rest}"); // the channel naming rule, with its message
                return new SocketAddress(SocketScheme.Ipc, "", 0, rest, endpoint);
            default:
                throw new ArgumentException($"'{endpoint}' has the unknown scheme '{scheme}': sockets take tcp://, unix://, inproc:// and ipc://.", nameof(endpoint));
        }
    }

    private static SocketAddress ParseTcp(string endpoint, string rest)
    {
        int colon = rest.LastIndexOf(':');
        if (colon <= 0 || colon == rest.Length - 1)
            throw new ArgumentException($"'{endpoint}': a tcp endpoint is tcp://host:port (host may be * to bind every interface, port * or 0 for any free port).", nameof(endpoint));
        string host = rest[..colon];
        string portText = rest[(colon + 1)..];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        int port;
        if (portText == "*")
            port = 0;
        else if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port > 65535)
            throw new ArgumentException($"'{endpoint}': '{portText}' is not a port (0 to 65535, or *).", nameof(endpoint));
        return new SocketAddress(SocketScheme.Tcp, host, port, "", endpoint);
    }

    /// <summary>The address to bind: <c>*</c> is every IPv4 interface.</summary>
    public IPAddress BindAddress()
    {
        if (Host is "*" or "0.0.0.0")
            return IPAddress.Any;
        if (Host == "localhost")
            return IPAddress.Loopback;
        if (IPAddress.TryParse(Host, out IPAddress? ip))
            return ip;
        throw new ArgumentException($"'{Original}': bind to an IP address or * (interface names are not supported), not '{Host}'.");
    }

    /// <summary>Resolves the host to connect to (name lookups happen here, at each attempt).</summary>
    public IPEndPoint ResolveForConnect()
    {
        if (Port == 0)
            throw new ArgumentException($"'{Original}': connect needs a port.");
        if (IPAddress.TryParse(Host, out IPAddress? ip))
            return new IPEndPoint(ip, Port);
        IPAddress[] found = Dns.GetHostAddresses(Host);
        IPAddress? pick = found.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? found.FirstOrDefault();
        if (pick is null)
            throw new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound);
        return new IPEndPoint(pick, Port);
    }
}
