using System.Diagnostics;
using System.Net.Sockets;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

// The sender thread: drains control frames and the outbound queue into one buffer and writes it
// with one system call; while a write is in the kernel, the application fills the queue, so the
// faster it sends, the larger the batches. A large frame is written from its own buffer.
internal sealed partial class ZmtpEngine
{
    /// <summary>Frames at least this large may be written by the application's thread itself.</summary>
    public const int DirectWriteMin = 16 * 1024;

    // Who writes to the socket now: the sender thread, or an application thread writing a large
    // frame directly. Held for a whole drain-and-flush, so bytes never interleave.
    private int _writer;

    /// <summary>
    /// Writes a large frame from the caller's memory straight to the kernel when nothing is queued
    /// ahead of it and the sender is idle: no copy into a queue, no hand-over to the sender thread.
    /// </summary>
    /// <returns>False when it must be queued instead (the caller then queues it as usual).</returns>
    public bool TryWriteDirect(ReadOnlySpan<byte> frame, bool more)
    {
        Pipe? pipe = _pipe;
        if (pipe is null || _closing || !_control.IsEmpty || Interlocked.CompareExchange(ref _writer, 1, 0) != 0)
            return false;
        try
        {
            if (!pipe.Out.IsDrained || _sendLength != 0 || _closing)
                return false;
            Span<byte> header = stackalloc byte[ZmtpWire.MaxHeaderSize];
            int h = ZmtpWire.WriteFrameHeader(header, frame.Length, more);
            _stream.SendGathered(header[..h], frame);
            _midMessageOut = more;
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The connection broke under the write: the frame is lost with the connection, as a
            // queued one would be; the receiver thread reports why.
            return true;
        }
        finally
        {
            Volatile.Write(ref _writer, 0);
        }
    }

    /// <summary>
    /// Whether <see cref="TryWriteDirect"/> would write now: nothing queued or buffered ahead,
    /// no write in progress. Also true once the connection is closing (the caller then stops waiting).
    /// </summary>
    public bool DirectWriteReady =>
        _closing || (Volatile.Read(ref _writer) == 0 && _control.IsEmpty && _pipe is { } p && p.Out.IsDrained);

    /// <summary>The connection is closing or closed.</summary>
    public bool IsClosing => _closing;

    private void AcquireWriter()
    {
        var spinner = new SpinWait();
        while (Interlocked.CompareExchange(ref _writer, 1, 0) != 0)
            spinner.SpinOnce();
    }

    private void SendLoop()
    {
        Pipe pipe = _pipe!;
        FrameQueue q = pipe.Out;
        try
        {
            while (true)
            {
                AcquireWriter();
                _senderBusy = true;
                DrainAndFlush(q);
                _senderBusy = false;
                Volatile.Write(ref _writer, 0);
                q.ProducerSignal?.Notify(); // an application thread may wait to write a large frame itself
                if (_closing)
                    return;
                // IsDrained reads only published positions, so it is safe while an application
                // thread drains the queue itself (FlushFromCaller).
                _sendSignal.Wait(static e => !e._pipe!.Out.IsDrained || !e._control.IsEmpty || e._closing, this, Deadlines.None, spinIterations: 32);
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            WriteFailed(e);
        }
        finally
        {
            _senderBusy = false;
            Volatile.Write(ref _writer, 0);
        }
    }

    /// <summary>A write broke the connection: shut it down; the receiver thread sees it too and reports why.</summary>
    private void WriteFailed(Exception e)
    {
        _closeReason ??= _closing ? null : e.Message;
        _stream.Shutdown();
    }

    /// <summary>
    /// Writes what is queued from the application's thread when the sender thread is idle: a
    /// lockstep pattern (REQ, REP) then saves the sender thread's wake-up on every message.
    /// Otherwise the sender thread, busy already, takes it.
    /// </summary>
    public void FlushFromCaller()
    {
        Pipe? pipe = _pipe;
        if (pipe is null || _closing)
            return;
        if (Interlocked.CompareExchange(ref _writer, 1, 0) != 0)
        {
            pipe.Out.ConsumerSignal?.Notify();
            return;
        }
        try
        {
            _senderBusy = true;
            DrainAndFlush(pipe.Out);
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            WriteFailed(e);
        }
        finally
        {
            _senderBusy = false;
            Volatile.Write(ref _writer, 0);
        }
    }

    /// <summary>Control frames, then every queued frame, written in as few calls as the buffer allows. Holds the writer slot.</summary>
    private void DrainAndFlush(FrameQueue q)
    {
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
                // What is buffered, the header and the payload in one gathered write:
                // the payload is not copied again on its way to the kernel.
                if (_sendLength > SendBufferSize - ZmtpWire.MaxHeaderSize)
                    Flush();
                _sendLength += ZmtpWire.WriteFrameHeader(_send.AsSpan(_sendLength), f.Length, f.More);
                WriteGathered(f.Array, f.Length);
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
        q.Release(); // the head catches up with what was read, so IsDrained is exact
        Flush();
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

    private void WriteGathered(byte[] payload, int length)
    {
        int buffered = _sendLength;
        _sendLength = 0;
        _stream.SendGathered(_send.AsSpan(0, buffered), payload.AsSpan(0, length));
    }

    private void Write(ReadOnlySpan<byte> bytes) => _stream.Send(bytes);
}
