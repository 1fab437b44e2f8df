using System.Net.Sockets;

namespace Psyne.Sockets.Transports;

/// <summary>
/// The byte stream a <see cref="ZmtpEngine"/> speaks ZMTP over: a TCP or Unix socket, or a pair
/// of shared-memory rings (<c>ipc://</c>). Blocking calls; one reader thread and one writer
/// thread at a time.
/// </summary>
internal abstract class ZmtpStream : IDisposable
{
    /// <summary>Reads what is there (at least one byte); 0 at the end of the stream; -1 when the receive timeout passed first.</summary>
    /// <exception cref="IOException">The connection broke.</exception>
    public abstract int Receive(byte[] buffer, int offset, int count);

    /// <summary>Writes all of <paramref name="data"/>.</summary>
    /// <exception cref="IOException">The connection broke.</exception>
    public abstract void Send(ReadOnlySpan<byte> data);

    /// <summary>Writes <paramref name="first"/> then <paramref name="second"/>, in one system call where the transport can.</summary>
    public virtual void SendGathered(byte[] first, int firstLength, byte[] second, int secondLength)
    {
        Send(first.AsSpan(0, firstLength));
        Send(second.AsSpan(0, secondLength));
    }

    /// <summary>How long <see cref="Receive"/> waits; 0 for ever.</summary>
    public abstract int ReceiveTimeoutMs { set; }

    /// <summary>Ends both directions now, waking a blocked reader and writer.</summary>
    public abstract void Shutdown();

    public abstract void Dispose();
}

/// <summary>A connected stream socket (TCP with Nagle off, or Unix).</summary>
internal sealed class SocketZmtpStream : ZmtpStream
{
    private readonly Socket _socket;
    private readonly ArraySegment<byte>[] _gather = new ArraySegment<byte>[2];

    public SocketZmtpStream(Socket socket)
    {
        _socket = socket;
        if (socket.ProtocolType == ProtocolType.Tcp)
            socket.NoDelay = true;
    }

    public override int Receive(byte[] buffer, int offset, int count)
    {
        try
        {
            return _socket.Receive(buffer, offset, count, SocketFlags.None);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            return -1;
        }
        catch (SocketException e)
        {
            throw new IOException($"receive failed: {e.SocketErrorCode}", e);
        }
    }

    public override void Send(ReadOnlySpan<byte> data)
    {
        try
        {
            while (!data.IsEmpty)
                data = data[_socket.Send(data, SocketFlags.None)..];
        }
        catch (SocketException e)
        {
            throw new IOException($"send failed: {e.SocketErrorCode}", e);
        }
    }

    public override void SendGathered(byte[] first, int firstLength, byte[] second, int secondLength)
    {
        _gather[0] = new ArraySegment<byte>(first, 0, firstLength);
        _gather[1] = new ArraySegment<byte>(second, 0, secondLength);
        int sent;
        try
        {
            sent = _socket.Send(_gather, SocketFlags.None);
        }
        catch (SocketException e)
        {
            throw new IOException($"send failed: {e.SocketErrorCode}", e);
        }
        finally
        {
            _gather[0] = _gather[1] = default;
        }
        // A short write (a full socket buffer) finishes with plain writes.
        if (sent < firstLength)
        {
            Send(first.AsSpan(sent, firstLength - sent));
            sent = firstLength;
        }
        Send(second.AsSpan(sent - firstLength, secondLength - (sent - firstLength)));
    }

    public override int ReceiveTimeoutMs
    {
        set => _socket.ReceiveTimeout = value;
    }

    public override void Shutdown()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public override void Dispose() => _socket.Dispose();
}
