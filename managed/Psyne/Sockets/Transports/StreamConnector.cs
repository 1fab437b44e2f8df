using System.Net.Sockets;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

/// <summary>
/// A connected <c>tcp://</c>, <c>unix://</c> or <c>ipc://</c> endpoint: keeps one connection up, reconnecting
/// with exponential back-off (<see cref="SocketOptions.ReconnectInterval"/> doubling up to
/// <see cref="SocketOptions.ReconnectIntervalMax"/>). Its pipe outlives each connection, so
/// messages sent while the peer is away wait for it, up to the high-water mark.
/// </summary>
internal sealed class StreamConnector : SocketEndpoint
{
    private readonly PsyneSocket _owner;
    private readonly SocketAddress _address;
    private readonly Pipe _pipe;
    private readonly Func<ZmtpStream> _dial;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false);
    private volatile bool _stopped;
    private volatile ZmtpEngine? _engine;

    private StreamConnector(PsyneSocket owner, SocketAddress address, Func<ZmtpStream> dial)
    {
        _owner = owner;
        _address = address;
        _dial = dial;
        int bytes = owner.Options.QueueBytes;
        _pipe = new Pipe(new FrameQueue(bytes), new FrameQueue(bytes), persistent: true, address.Original) { Owner = this };
        _thread = new Thread(Run) { IsBackground = true, Name = "psyne-connect" };
    }

    public override string Address => _address.Original;

    public override string Requested => _address.Original;

    public override bool IsListener => false;

    public static StreamConnector Start(PsyneSocket owner, SocketAddress address) =>
        Start(owner, address, () => DialSocket(address));

    /// <summary>Starts connecting with <paramref name="dial"/>, which opens one connection or throws (then it is retried).</summary>
    public static StreamConnector Start(PsyneSocket owner, SocketAddress address, Func<ZmtpStream> dial)
    {
        if (address.Scheme == SocketScheme.Tcp && address.Port == 0)
            throw new ArgumentException($"'{address.Original}': connect needs a port.");
        var connector = new StreamConnector(owner, address, dial);
        owner.Attach(connector._pipe);
        connector._thread.Start();
        return connector;
    }

    private void Run()
    {
        TimeSpan wait = _owner.Options.ReconnectInterval;
        while (!_stopped)
        {
            ZmtpStream stream;
            try
            {
                stream = _dial();
            }
            catch (Exception e) when (e is SocketException or ArgumentException or PsyneException or IOException)
            {
                _owner.Raise(SocketEventKind.ConnectRetried, _address.Original, e.Message);
                Pause(ref wait);
                continue;
            }
            if (_stopped)
            {
                stream.Dispose();
                return;
            }
            _owner.Raise(SocketEventKind.Connected, _address.Original);
            var engine = new ZmtpEngine(_owner, stream, _address.Original, _pipe);
            _engine = engine;
            if (_stopped)
                engine.Close("closed by the application");
            engine.Run();
            _engine = null;
            _pipe.Owner = this;
            wait = _owner.Options.ReconnectInterval;
            Pause(ref wait);
        }
    }

    private static ZmtpStream DialSocket(SocketAddress address)
    {
        Socket? socket = null;
        try
        {
            if (address.Scheme == SocketScheme.Tcp)
            {
                var ep = address.ResolveForConnect();
                socket = new Socket(ep.AddressFamily, System.Net.Sockets.SocketType.Stream, ProtocolType.Tcp);
                socket.Connect(ep);
            }
            else
            {
                socket = new Socket(AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, ProtocolType.Unspecified);
                socket.Connect(new UnixDomainSocketEndPoint(address.Path));
            }
            return new SocketZmtpStream(socket);
        }
        catch
        {
            socket?.Dispose();
            throw;
        }
    }

    private void Pause(ref TimeSpan wait)
    {
        _wake.Wait(wait);
        TimeSpan max = _owner.Options.ReconnectIntervalMax;
        wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Math.Max(max.Ticks, _owner.Options.ReconnectInterval.Ticks)));
    }

    /// <summary>The engine serving the pipe now, if connected (linger asks it whether it has flushed).</summary>
    public ZmtpEngine? Engine => _engine;

    // StopAccepting is not overridden: while the socket lingers, a connector keeps (re)connecting
    // so what is queued can still reach the peer, as libzmq does.

    public override void Close()
    {
        _stopped = true;
        _wake.Set();
        _engine?.Close("closed by the application");
        _thread.Join();
        _pipe.Terminate();
        _owner.Detach(_pipe);
    }
}
