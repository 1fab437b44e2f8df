using System.Diagnostics;
using System.Net.Sockets;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

// The sender thread: drains control frames and the outbound queue into one buffer and writes it
// with one system call; while a write is in the kernel, the application fills the queue, so the
// faster it sends, the larger the batches. A large frame is written from its own buffer.
internal sealed partial class ZmtpEngine
{
    private void SendLoop()
    {
        Pipe pipe = _pipe!;
        FrameQueue q = pipe.Out;
        try
        {
            while (true)
            {
                _senderBusy = true;
                while (_control.TryDequeue(out byte[]? command))
                    Append(command);
                while (q.TryPeek(out QueuedFrame f))
                {
                    if ((f.Flags & (FrameFlags.Subscribe | FrameFlags.Cancel)) != 0)
                    {
                        Append(SubscriptionFrame(f.Span, (f.Flags & FrameFlags.Subscribe) != 0));
                    }
                    else if (f.OutOfLine)
                    {
                        if (_sendLength > SendBufferSize - ZmtpWire.MaxHeaderSize)
                            Flush();
                        _sendLength += ZmtpWire.WriteFrameHeader(_send.AsSpan(_sendLength), f.Length, f.More);
                        Flush();
                        Write(f.Span);
                    }
                    else
                    {
                        if (_sendLength + ZmtpWire.MaxHeaderSize + f.Length > SendBufferSize)
                            Flush();
                        _sendLength += ZmtpWire.WriteFrameHeader(_send.AsSpan(_sendLength), f.Length, f.More);
                        f.Span.CopyTo(_send.AsSpan(_sendLength));
                        _sendLength += f.Length;
                    }
                    _midMessageOut = f.More;
                    q.Consume(f);
                }
                Flush();
                _senderBusy = false;
                if (_closing)
                    return;
                _sendSignal.Wait(static e => e._pipe!.Out.HasData() || !e._control.IsEmpty || e._closing, this, Deadlines.None, spinIterations: 32);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            // The receiver sees the broken connection too and reports it.
            _closeReason ??= e is SocketException se ? $"write failed: {se.SocketErrorCode}" : "connection closed";
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e2) when (e2 is SocketException or ObjectDisposedException)
            {
            }
        }
        finally
        {
            _senderBusy = false;
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_sendLength + bytes.Length > SendBufferSize)
        {
            Flush();
            if (bytes.Length > SendBufferSize)
            {
                Write(bytes);
                return;
            }
        }
        bytes.CopyTo(_send.AsSpan(_sendLength));
        _sendLength += bytes.Length;
    }

    private void Flush()
    {
        if (_sendLength == 0)
            return;
        Write(_send.AsSpan(0, _sendLength));
        _sendLength = 0;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = _socket.Send(bytes, SocketFlags.None);
            bytes = bytes[n..];
        }
    }
}
