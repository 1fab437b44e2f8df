using System.Net.Sockets;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

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

    /// <summary>
    /// Reads once into <paramref name="first"/>, and what arrives beyond it into
    /// <paramref name="second"/>; returns the total (as <see cref="Receive"/>). Transports that
    /// cannot scatter read into <paramref name="first"/> only.
    /// </summary>
    public virtual int ReceiveSplit(byte[] first, int firstOffset, int firstCount, byte[] second, int secondOffset, int secondCount) =>
        Receive(first, firstOffset, firstCount);

    /// <summary>Writes all of <paramref name="data"/>.</summary>
    /// <exception cref="IOException">The connection broke.</exception>
    public abstract void Send(ReadOnlySpan<byte> data);

    /// <summary>Writes <paramref name="first"/> then <paramref name="second"/>, in one system call where the transport can.</summary>
    public virtual void SendGathered(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        Send(first);
        Send(second);
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

    /// <summary>One <c>recvmsg</c> through libpsyne (Linux, macOS) over both buffers.</summary>
    public override unsafe int ReceiveSplit(byte[] first, int firstOffset, int firstCount, byte[] second, int secondOffset, int secondCount)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
            return Receive(first, firstOffset, firstCount);
        SafeHandle handle = _socket.SafeHandle;
        bool added = false;
        psyne_status status;
        nuint received;
        try
        {
            handle.DangerousAddRef(ref added);
            fixed (byte* a = &first[firstOffset])
            fixed (byte* b = &second[secondOffset])
                status = PsyneNative.psyne_net_recv2(handle.DangerousGetHandle(), a, (nuint)firstCount, b, (nuint)secondCount, &received);
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
        return status switch
        {
            psyne_status.PSYNE_OK => (int)received,
            psyne_status.PSYNE_E_TIMEOUT => -1,
            _ => throw new IOException($"receive failed: {NativeStatus.LastErrorMessage()}"),
        };
    }

    /// <summary>One <c>sendmsg</c> through libpsyne (Linux, macOS): header and payload leave together, uncopied.</summary>
    public override unsafe void SendGathered(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            base.SendGathered(first, second);
            return;
        }
        SafeHandle handle = _socket.SafeHandle;
        bool added = false;
        psyne_status status;
        nuint written;
        try
        {
            handle.DangerousAddRef(ref added);
            fixed (byte* a = first)
            fixed (byte* b = second)
                status = PsyneNative.psyne_net_send2(handle.DangerousGetHandle(), a, (nuint)first.Length, b, (nuint)second.Length, &written);
        }
        catch (ObjectDisposedException e)
        {
            throw new IOException("send failed: the socket was closed", e);
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
        if (status != psyne_status.PSYNE_OK)
            throw new IOException($"send failed: {NativeStatus.LastErrorMessage()}");
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
