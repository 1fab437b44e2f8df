using System.Net;
using System.Net.Sockets;

namespace Psyne.Sockets.Transports;

/// <summary>
/// A bound <c>tcp://</c> or <c>unix://</c> endpoint: accepts connections on its own thread and
/// runs a <see cref="ZmtpEngine"/> for each. A Unix socket file is created with mode 0600 and
/// removed when the endpoint closes; a stale one left by a dead process is replaced.
/// </summary>
internal sealed class StreamListener : SocketEndpoint
{
    private readonly PsyneSocket _owner;
    private readonly Socket _listener;
    private readonly SocketAddress _requested;
    private readonly Thread _acceptThread;
    private readonly EngineSet _engines = new();
    private volatile bool _stopped;

    private StreamListener(PsyneSocket owner, Socket listener, SocketAddress requested, string address)
    {
        _owner = owner;
        _listener = listener;
        _requested = requested;
        Address = address;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "psyne-accept" };
    }

    public override string Address { get; }

    public override string Requested => _requested.Original;

    public override bool IsListener => true;

    public static StreamListener Start(PsyneSocket owner, SocketAddress address)
    {
        Socket listener;
        string bound;
        try
        {
            if (address.Scheme == SocketScheme.Tcp)
            {
                IPAddress ip = address.BindAddress();
                listener = new Socket(ip.AddressFamily, System.Net.Sockets.SocketType.Stream, ProtocolType.Tcp);
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(new IPEndPoint(ip, address.Port));
                var local = (IPEndPoint)listener.LocalEndPoint!;
                string host = address.Host is "*" ? "0.0.0.0" : local.Address.ToString();
                bound = local.AddressFamily == AddressFamily.InterNetworkV6 ? $"tcp://[{host}]:{local.Port}" : $"tcp://{host}:{local.Port}";
            }
            else
            {
                RemoveStaleUnixSocket(address.Path);
                listener = new Socket(AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, ProtocolType.Unspecified);
                listener.Bind(new UnixDomainSocketEndPoint(address.Path));
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(address.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                bound = address.Original;
            }
            listener.Listen(128);
        }
        catch (SocketException e)
        {
            throw new PsyneIOException($"cannot bind {address.Original}: {e.SocketErrorCode} ({e.Message})");
        }
        var endpoint = new StreamListener(owner, listener, address, bound);
        owner.Raise(SocketEventKind.Listening, bound);
        endpoint._acceptThread.Start();
        return endpoint;
    }

    /// <summary>A socket file nobody listens on (its process died) is replaced; a live one is "address in use".</summary>
    private static void RemoveStaleUnixSocket(string path)
    {
        if (!File.Exists(path))
            return;
        using var probe = new Socket(AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
            return;
        }
        throw new PsyneIOException($"cannot bind unix://{path}: another process is listening there.");
    }

    private void AcceptLoop()
    {
        while (!_stopped)
        {
            Socket connection;
            try
            {
                connection = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopped)
                    return;
                Thread.Sleep(10); // e.g. out of file descriptors: do not spin
                continue;
            }
            string peer = connection.RemoteEndPoint is IPEndPoint ip ? $"tcp://{ip}" : Address;
            _owner.Raise(SocketEventKind.Accepted, peer);
            if (!_engines.Start(_owner, new SocketZmtpStream(connection), peer))
                return;
        }
    }

    public override void StopAccepting()
    {
        if (_stopped)
            return;
        _stopped = true;
        _listener.Dispose();
        if (_requested.Scheme == SocketScheme.Unix)
        {
            try
            {
                File.Delete(_requested.Path);
            }
            catch (IOException)
            {
            }
        }
    }

    public override void Close()
    {
        StopAccepting();
        _engines.CloseAll();
        _owner.Raise(SocketEventKind.Closed, Address);
    }
}
