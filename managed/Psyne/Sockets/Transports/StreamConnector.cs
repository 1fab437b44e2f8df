using System.Net.Sockets;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

/// <summary>
/// A connected <c>tcp://</c> or <c>unix://</c> endpoint: keeps one connection up, reconnecting
/// with exponential back-off (<see cref="SocketOptions.ReconnectInterval"/> doubling up to
/// <see cref="SocketOptions.ReconnectIntervalMax"/>). Its pipe outlives each connection, so
/// messages sent while the peer is away wait for it, up to the high-water mark.
/// </summary>
internal sealed class StreamConnector : SocketEndpoint
{
    private readonly PsyneSocket _owner;
    private readonly SocketAddress _address;
    private readonly Pipe _pipe;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _wake = new(false);
    private volatile bool _stopped;
    private volatile ZmtpEngine? _engine;

    private StreamConnector(PsyneSocket owner, SocketAddress address)
    {
        _owner = owner;
        _address = address;
        int bytes = owner.Options.QueueBytes;
        _pipe = new Pipe(new FrameQueue(bytes), new FrameQueue(bytes), persistent: true, address.Original) { Owner = this };
        _thread = new Thread(Run) { IsBackground = true, Name = "psyne-connect" };
    }

    public override string Address => _address.Original;

    public override string Requested => _address.Original;

    public override bool IsListener => false;

    public static StreamConnector Start(PsyneSocket owner, SocketAddress address)
    {
        if (address.Scheme == SocketScheme.Tcp && address.Port == 0)
            throw new ArgumentException($"'{address.Original}': connect needs a port.");
        var connector = new StreamConnector(owner, address);
        owner.Attach(connector._pipe);
        connector._thread.Start();
        return connector;
    }

    private void Run()
    {
        TimeSpan wait = _owner.Options.ReconnectInterval;
        while (!_stopped)
        {
            Socket? socket = null;
            try
            {
                if (_address.Scheme == SocketScheme.Tcp)
                {
                    var ep = _address.ResolveForConnect();
                    socket = new Socket(ep.AddressFamily, System.Net.Sockets.SocketType.Stream, ProtocolType.Tcp);
                    socket.Connect(ep);
                }
                else
                {
                    socket = new Socket(AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, ProtocolType.Unspecified);
                    socket.Connect(new UnixDomainSocketEndPoint(_address.Path));
                }
            }
            catch (Exception e) when (e is SocketException or ArgumentException)
            {
                socket?.Dispose();
                _owner.Raise(SocketEventKind.ConnectRetried, _address.Original, e.Message);
                Pause(ref wait);
                continue;
            }
            if (_stopped)
            {
                socket.Dispose();
                return;
            }
            _owner.Raise(SocketEventKind.Connected, _address.Original);
            var engine = new ZmtpEngine(_owner, new SocketZmtpStream(socket), _address.Original, _pipe);
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

    private void Pause(ref TimeSpan wait)
    {
        _wake.Wait(wait);
        TimeSpan max = _owner.Options.ReconnectIntervalMax;
        wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, Math.Max(max.Ticks, _owner.Options.ReconnectInterval.Ticks)));
    }

    /// <summary>The engine serving the pipe now, if connected (linger asks it whether it has flushed).</summary>
    public ZmtpEngine? Engine => _engine;

    public override void StopAccepting()
    {
        _stopped = true;
        _wake.Set();
    }

    public override void Close()
    {
        StopAccepting();
        _engine?.Close("closed by the application");
        _thread.Join();
        _pipe.Terminate();
        _owner.Detach(_pipe);
    }
}
