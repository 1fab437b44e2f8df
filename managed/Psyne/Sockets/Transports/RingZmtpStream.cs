using Psyne.Messaging;

namespace Psyne.Sockets.Transports;

/// <summary>
/// A ZMTP byte stream over two shared-memory rings (one per direction): each write is one or
/// more ring records, and reads take records in order, a part at a time if the caller's buffer
/// is smaller. A peer process that dies surfaces as the end of the stream (the rings detect it
/// through pidfd), never as a hang.
/// </summary>
internal sealed class RingZmtpStream : ZmtpStream
{
    private readonly Channel _in;
    private readonly Channel _out;
    private ChannelMessage _current;
    private bool _hasCurrent;
    private int _offset;
    private int _timeoutMs;

    public RingZmtpStream(Channel inbound, Channel outbound)
    {
        _in = inbound;
        _out = outbound;
    }

    public override int Receive(byte[] buffer, int offset, int count)
    {
        if (!_hasCurrent)
        {
            try
            {
                _current = _timeoutMs == 0 ? _in.Read() : _in.Read(TimeSpan.FromMilliseconds(_timeoutMs));
            }
            catch (PsyneTimeoutException)
            {
                return -1;
            }
            catch (Exception e) when (e is PsyneClosedException or ObjectDisposedException)
            {
                return 0; // the peer completed its ring, left, or died
            }
            catch (PsyneException e)
            {
                throw new IOException($"ipc ring: {e.Message}", e);
            }
            _hasCurrent = true;
            _offset = 0;
        }
        ReadOnlySpan<byte> rest = _current.Payload[_offset..];
        int n = Math.Min(rest.Length, count);
        rest[..n].CopyTo(buffer.AsSpan(offset, n));
        _offset += n;
        if (_offset == _current.Length)
        {
            _hasCurrent = false;
            _current.Release();
        }
        return n;
    }

    public override void Send(ReadOnlySpan<byte> data)
    {
        try
        {
            int max = _out.MaxPayload;
            while (!data.IsEmpty)
            {
                int n = Math.Min(max, data.Length);
                _out.Write(data[..n]);
                data = data[n..];
            }
        }
        catch (Exception e) when (e is PsyneException or ObjectDisposedException)
        {
            throw new IOException($"ipc ring: {e.Message}", e);
        }
    }

    public override int ReceiveTimeoutMs
    {
        set => _timeoutMs = value;
    }

    public override void Shutdown()
    {
        try
        {
            _out.Complete(); // the peer reads what was written, then sees the end
        }
        catch (ObjectDisposedException)
        {
        }
        _in.Dispose(); // wakes our own reader
    }

    public override void Dispose()
    {
        _in.Dispose();
        _out.Dispose();
    }
}
