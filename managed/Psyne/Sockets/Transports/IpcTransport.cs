using System.Text;
using Psyne.Messaging;

namespace Psyne.Sockets.Transports;

/// <summary>
/// <c>ipc://name</c> for sockets: ZMTP over shared-memory rings between processes of one user.
/// The bound socket owns a rendezvous ring named <c>name</c> (many writers, one reader); a
/// connecting socket creates a pair of rings <c>name.&lt;id&gt;.u</c> and <c>.d</c> and posts the id
/// there; the bound socket opens the pair and both run the ordinary ZMTP handshake over it, so
/// every check of the tcp path (socket types, metadata, limits) applies unchanged.
/// </summary>
internal static class IpcTransport
{
    private const long RendezvousBytes = 64 * 1024;
    private const long DataBytes = 1 << 20;
    private static int s_next;

    public static SocketEndpoint Bind(PsyneSocket socket, SocketAddress address) => IpcListener.Start(socket, address);

    public static SocketEndpoint Connect(PsyneSocket socket, SocketAddress address) =>
        StreamConnector.Start(socket, address, () => Dial(address));

    private static ZmtpStream Dial(SocketAddress address)
    {
        // Throws PsyneNotFoundException until something binds the name: the connector retries.
        using Channel rendezvous = Channel.OpenExisting($"ipc://{address.Path}", ChannelRole.Producer);
        string id = $"{address.Path}.{Environment.ProcessId:x}{Interlocked.Increment(ref s_next):x}";
        if (id.Length + 2 > ChannelAddress.MaxNameLength)
            throw new ArgumentException($"{address.Original}: the name is too long to derive connection ring names from (at most {ChannelAddress.MaxNameLength - 20} characters).");
        var options = new ChannelOptions { Kind = ChannelKind.Spsc, Capacity = DataBytes };
        Channel up = Channel.Create($"ipc://{id}.u", options, ChannelRole.Producer);
        Channel? down = null;
        try
        {
            down = Channel.Create($"ipc://{id}.d", options, ChannelRole.Consumer);
            rendezvous.Write(Encoding.ASCII.GetBytes(id));
            return new RingZmtpStream(down, up);
        }
        catch
        {
            up.Dispose();
            down?.Dispose();
            throw;
        }
    }

    private sealed class IpcListener : SocketEndpoint
    {
        private readonly PsyneSocket _owner;
        private readonly SocketAddress _address;
        private readonly Channel _rendezvous;
        private readonly Channel _keepOpen;
        private readonly EngineSet _engines = new();
        private readonly Thread _thread;
        private volatile bool _stopped;

        private IpcListener(PsyneSocket owner, SocketAddress address, Channel rendezvous, Channel keepOpen)
        {
            _owner = owner;
            _address = address;
            _rendezvous = rendezvous;
            _keepOpen = keepOpen;
            _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "psyne-ipc-accept" };
        }

        public override string Address => _address.Original;

        public override string Requested => _address.Original;

        public override bool IsListener => true;

        public static IpcListener Start(PsyneSocket owner, SocketAddress address)
        {
            Channel rendezvous;
            try
            {
                rendezvous = Channel.Create($"ipc://{address.Path}",
                    new ChannelOptions { Kind = ChannelKind.Mpsc, Capacity = RendezvousBytes }, ChannelRole.Consumer);
            }
            catch (PsyneArgumentException e)
            {
                throw new PsyneIOException($"cannot bind {address.Original}: {e.Message}");
            }
            // A consumer sees a ring closed once no producer is attached; connectors come and go,
            // so the listener holds a producer handle of its own for as long as it listens.
            Channel keepOpen;
            try
            {
                keepOpen = Channel.OpenExisting($"ipc://{address.Path}", ChannelRole.Producer);
            }
            catch
            {
                rendezvous.Dispose();
                throw;
            }
            var listener = new IpcListener(owner, address, rendezvous, keepOpen);
            owner.Raise(SocketEventKind.Listening, address.Original);
            listener._thread.Start();
            return listener;
        }

        private void AcceptLoop()
        {
            while (!_stopped)
            {
                string id;
                try
                {
                    using ChannelMessage request = _rendezvous.Read();
                    id = Encoding.ASCII.GetString(request.Payload);
                }
                catch (Exception e) when (e is PsyneException or ObjectDisposedException)
                {
                    return; // closed
                }
                // Only names this listener's connectors derive are opened.
                if (!id.StartsWith(_address.Path + ".", StringComparison.Ordinal) || !ChannelAddress.TryParse($"ipc://{id}.u", out _))
                    continue;
                Channel? up = null, down = null;
                try
                {
                    up = Channel.OpenExisting($"ipc://{id}.u", ChannelRole.Consumer);
                    down = Channel.OpenExisting($"ipc://{id}.d", ChannelRole.Producer);
                }
                catch (PsyneException e)
                {
                    up?.Dispose();
                    _owner.Raise(SocketEventKind.HandshakeFailed, _address.Original, $"a connection request named rings that cannot be opened: {e.Message}");
                    continue;
                }
                string peer = $"{_address.Original} (pid {up.CreatorPid})";
                _owner.Raise(SocketEventKind.Accepted, peer);
                if (!_engines.Start(_owner, new RingZmtpStream(up, down), peer))
                    return;
            }
        }

        public override void StopAccepting()
        {
            if (_stopped)
                return;
            _stopped = true;
            _rendezvous.Dispose();
            _keepOpen.Dispose();
        }

        public override void Close()
        {
            StopAccepting();
            _engines.CloseAll();
            _owner.Raise(SocketEventKind.Closed, _address.Original);
        }
    }
}
