using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Psyne.Interop;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

/// <summary>
/// One ZMTP 3.1 connection over a stream socket (TCP or Unix): the handshake, then two threads,
/// a receiver that decodes frames into the pipe's inbound queue and a sender that batches the
/// outbound queue into few large writes. A protocol error closes this connection only, with its
/// reason logged and raised as a monitor event; the socket's other peers are not touched.
/// </summary>
/// <remarks>
/// Blocking I/O on dedicated threads: a blocked receive is woken by the kernel directly, with
/// no event-loop hop, which measured faster for the few, busy connections Psyne is built for
/// (see docs/architecture.md, "Socket I/O").
/// </remarks>
internal sealed partial class ZmtpEngine
{
    private const int ReceiveBufferSize = 64 * 1024;
    private const int SendBufferSize = 64 * 1024;
    private const int DecodeBatch = 256;

    /// <summary>A frame at least this large is read into a buffer of its own (what already arrived is copied once, the rest is read in place).</summary>
    private const int DirectReadMin = 32 * 1024;

    /// <summary>How much to read after a large frame (libzmq reads 8 KiB at a time and large payloads in place).</summary>
    private const int AfterLargeRead = 8 * 1024;

    private readonly PsyneSocket _owner;
    private readonly ZmtpStream _stream;
    private readonly string _peer;
    private readonly SocketOptions _options;
    private readonly Pipe? _persistentPipe;
    private readonly WaitSignal _sendSignal = new();
    private readonly WaitSignal _inSpace = new();
    private readonly ConcurrentQueue<byte[]> _control = new();
    private readonly psyne_zmtp_frame[] _frames = new psyne_zmtp_frame[DecodeBatch];
    private readonly byte[] _recv = GC.AllocateUninitializedArray<byte>(ReceiveBufferSize, pinned: true);
    private readonly byte[] _send = GC.AllocateUninitializedArray<byte>(SendBufferSize, pinned: true);
    private int _start;         // first unparsed byte in _recv
    private int _filled;        // end of received bytes in _recv
    private int _sendLength;

    private Pipe? _pipe;
    private Thread? _sender;
    private volatile bool _closing;
    private volatile bool _senderBusy;
    private string? _closeReason;
    private bool _peerIsZmtp30;
    private bool _midMessageIn;
    private bool _midMessageOut;
    private bool _discardingIn;
    private bool _afterLargeFrame;
    private (byte[] Array, int Length, FrameFlags Flags)? _parked;
    private long _lastReceived;
    private long _lastPingSent;
    private long _peerTtlTicks;
    private long _pingSentAt;
    private long _pingDeadline;

    public ZmtpEngine(PsyneSocket owner, ZmtpStream stream, string peer, Pipe? persistentPipe)
    {
        _owner = owner;
        _stream = stream;
        _peer = peer;
        _options = owner.Options;
        _persistentPipe = persistentPipe;
    }

    /// <summary>The sender holds nothing of its own (buffered bytes, control frames) and is not mid-write; with a drained queue, linger is over for this connection.</summary>
    public bool IsIdle => _closing || (!_senderBusy && _control.IsEmpty);

    private ILogger? Log => _options.Logger;

    /// <summary>Runs the connection on the calling thread until it ends; returns why it ended.</summary>
    public string Run()
    {
        string reason;
        bool established = false;
        try
        {
            string? failure = Handshake();
            if (failure is not null)
            {
                reason = failure;
                Log?.LogWarning("Psyne {Type} socket: handshake with {Peer} failed: {Reason}", _owner.Type.WireName(), _peer, failure);
                _owner.Raise(SocketEventKind.HandshakeFailed, _peer, failure);
                return reason;
            }
            established = true;
            _owner.Raise(SocketEventKind.HandshakeSucceeded, _peer);
            _sender = new Thread(SendLoop) { IsBackground = true, Name = "psyne-zmtp-send" };
            _sender.Start();
            reason = ReceiveLoop();
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException)
        {
            reason = _closeReason ?? e.Message;
            if (!established)
            {
                // A handshake that fails by timing out or by a broken connection arrives here, not as
                // a returned reason; it is logged like any other failed handshake (unless the
                // application closed the socket meanwhile).
                if (!_closing)
                    Log?.LogWarning("Psyne {Type} socket: handshake with {Peer} failed: {Reason}", _owner.Type.WireName(), _peer, reason);
                _owner.Raise(SocketEventKind.HandshakeFailed, _peer, reason);
            }
        }
        finally
        {
            Shutdown();
        }
        if (established)
        {
            if (_closeReason is null || !_closeReason.StartsWith("closed by", StringComparison.Ordinal))
                Log?.LogInformation("Psyne {Type} socket: connection to {Peer} ended: {Reason}", _owner.Type.WireName(), _peer, reason);
            _owner.Raise(SocketEventKind.Disconnected, _peer, reason);
        }
        return reason;
    }

    /// <summary>Closes the connection from another thread (the application, a listener or connector closing).</summary>
    public void Close(string reason)
    {
        _closeReason ??= reason;
        _closing = true;
        _stream.Shutdown();
        _sendSignal.NotifyAlways();
        _inSpace.NotifyAlways();
        _receiverPark.Set();
    }

    private string Fail(string reason)
    {
        _closeReason ??= reason;
        Log?.LogWarning("Psyne {Type} socket: closing the connection to {Peer}: {Reason}", _owner.Type.WireName(), _peer, reason);
        return reason;
    }

    private void Shutdown()
    {
        _closing = true;
        _sendSignal.NotifyAlways();
        if (_sender is not null && Thread.CurrentThread != _sender)
        {
            // A write in progress fails fast once the stream is shut down.
            _stream.Shutdown();
            _sender.Join();
        }
        _stream.Dispose();
        if (_pipe is not { } pipe)
            return;
        pipe.In.Rollback(); // a message cut short never reaches the application
        if (_persistentPipe is null)
        {
            pipe.Terminate();
        }
        else
        {
            if (_midMessageOut)
                pipe.Out.DiscardRestOfMessage(); // its start went to the old connection
            pipe.Out.ConsumerSignal = null;
            pipe.In.ProducerSignal = null;
            pipe.Owner = null;
        }
    }

    // ---- receiving ---------------------------------------------------------------------------

    private string ReceiveLoop()
    {
        Pipe pipe = _pipe!;
        bool heartbeat = _options.HeartbeatInterval > TimeSpan.Zero;
        _stream.ReceiveTimeoutMs = heartbeat ? (int)Math.Max(1, _options.HeartbeatInterval.TotalMilliseconds / 2) : 0;
        _lastReceived = _lastPingSent = Stopwatch.GetTimestamp();
        while (true)
        {
            string? problem = ProcessBuffered(pipe);
            if (problem is not null)
                return Fail(problem);
            if (_closing)
                return _closeReason ?? "closed";
            if ((heartbeat || _peerTtlTicks > 0) && (problem = Heartbeat()) is not null)
                return Fail(problem);
            if (_callerWants && CallerMayRead)
            {
                problem = ParkForCaller(heartbeat);
                if (problem is not null)
                    return problem == "the peer closed the connection" || _closing ? problem : Fail(problem);
                continue;
            }
            // Right after a large frame the next one is likely large too: read little, so its
            // payload is read into its own buffer instead of here and then copied.
            int want = _recv.Length - _filled;
            if (_afterLargeFrame)
                want = Math.Min(want, AfterLargeRead);
            int n = _stream.Receive(_recv, _filled, want);
            _afterLargeFrame = false;
            if (n < 0)
                continue; // a heartbeat tick
            if (n == 0)
            {
                string end = EndOfStream();
                return end == "the peer closed the connection" || _closing ? end : Fail(end);
            }
            _filled += n;
            _lastReceived = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// Decodes and delivers every complete frame in the buffer; null, <see cref="Stalled"/> (the
    /// application's thread reads and its queue is full: the rest stays buffered), or why the
    /// connection must close.
    /// </summary>
    private string? ProcessBuffered(Pipe pipe)
    {
        string? parked = DeliverParked(pipe);
        if (parked is not null)
            return parked;
        ulong max = _options.MaxMessageSize < 0 ? ulong.MaxValue : (ulong)_options.MaxMessageSize;
        while (true)
        {
            psyne_status status = ZmtpWire.Decode(_recv.AsSpan(_start, _filled - _start), max, _frames,
                out int count, out int consumed, out long pending);
            int done = 0; // bytes of the frames taken so far
            for (int i = 0; i < count; i++)
            {
                ref psyne_zmtp_frame f = ref _frames[i];
                ReadOnlySpan<byte> payload = _recv.AsSpan(_start + (int)f.offset, (int)f.size);
                string? problem = (f.flags & ZmtpWire.FlagCommand) != 0
                    ? OnCommand(pipe, payload)
                    : OnMessageFrame(pipe, payload, (f.flags & ZmtpWire.FlagMore) != 0, owned: null);
                if (problem is not null)
                {
                    if (ReferenceEquals(problem, Stalled))
                        _start += done;
                    return problem;
                }
                done = (int)(f.offset + f.size);
            }
            _start += consumed;
            if (status != psyne_status.PSYNE_OK)
                return $"protocol error: {ZmtpWire.LastError()}";
            if (count == DecodeBatch)
                continue;
            int left = _filled - _start;
            if (pending > _recv.Length || pending >= DirectReadMin)
            {
                // Read on the caller's thread only into an empty queue, so the frame is taken at once.
                if (_callerReading && pipe.In.QueuedMessages > 0)
                    return Stalled;
                string? problem = ReceiveLargeFrame(pipe);
                if (problem is not null || _filled == 0)
                    return problem;
                continue; // the read that ended the frame brought what follows it
            }
            if (left > 0 && _start > 0 && (pending > _recv.Length - _start || _start > _recv.Length / 2 || _filled == _recv.Length))
            {
                Buffer.BlockCopy(_recv, _start, _recv, 0, left);
                _filled = left;
                _start = 0;
            }
            else if (left == 0)
            {
                _start = _filled = 0;
            }
            return null;
        }
    }

    /// <summary>A large frame: its payload is read straight into a buffer of its own, which the application then reads in place.</summary>
    private string? ReceiveLargeFrame(Pipe pipe)
    {
        byte flags = _recv[_start];
        int header = (flags & ZmtpWire.FlagLong) != 0 ? 9 : 2;
        long size = (flags & ZmtpWire.FlagLong) != 0 ? BinaryPrimitives.ReadInt64BigEndian(_recv.AsSpan(_start + 1)) : _recv[_start + 1];
        if (size > Array.MaxLength)
            return $"a frame of {size} bytes is larger than this process can hold (set SocketOptions.MaxMessageSize to refuse it cleanly)";
        LargeBufferPool pool = pipe.In.Buffers;
        byte[] array = pool.Rent((int)size);
        int have = _filled - _start - header;
        Buffer.BlockCopy(_recv, _start + header, array, 0, have);
        _start = _filled = 0;
        while (have < size)
        {
            // The rest of the payload, and whatever follows it (the next frame's header) into the
            // stream buffer, in one read: a stream of large frames costs one call per frame.
            int rest = (int)size - have;
            int n = _stream.ReceiveSplit(array, have, rest, _recv, 0, AfterLargeRead);
            if (n > rest)
            {
                _filled = n - rest;
                n = rest;
            }
            if (n < 0)
            {
                string? problem = Heartbeat();
                if (problem is not null || _closing)
                {
                    pool.Return(array);
                    return problem ?? _closeReason ?? "closed";
                }
                continue;
            }
            if (n == 0)
            {
                pool.Return(array);
                return $"the peer closed the connection in the middle of a {size}-byte frame ({have} bytes of it received)";
            }
            have += n;
            _lastReceived = Stopwatch.GetTimestamp();
        }
        _afterLargeFrame = _filled == 0;
        if ((flags & ZmtpWire.FlagCommand) != 0)
        {
            string? problem = OnCommand(pipe, array.AsSpan(0, (int)size));
            pool.Return(array);
            return problem;
        }
        return OnMessageFrame(pipe, array.AsSpan(0, (int)size), (flags & ZmtpWire.FlagMore) != 0, owned: array);
    }

    private string? OnMessageFrame(Pipe pipe, ReadOnlySpan<byte> payload, bool more, byte[]? owned)
    {
        bool first = !_midMessageIn;
        SocketType type = _owner.Type;
        bool discarding = !first && _discardingIn;
        if (first)
        {
            if (type is SocketType.Pub or SocketType.XPub && !more && payload.Length > 0 && payload[0] <= 1)
            {
                // A subscription sent as a message (ZMTP 3.0 peers, and libzmq's XSUB). Publishers
                // never read on the caller's thread, so this never stalls.
                ReleaseOwned(owned);
                _discardingIn = false;
                return Deliver(pipe, payload[1..], payload[0] == 1 ? FrameFlags.Subscribe : FrameFlags.Cancel, null);
            }
            discarding = type is SocketType.Pub or SocketType.Push; // these patterns receive no data; drop it, as libzmq does
        }
        if (discarding)
        {
            ReleaseOwned(owned);
            _midMessageIn = more;
            _discardingIn = true;
            return null;
        }
        // A frame read straight into its own buffer is taken now whatever happens (a stalled
        // delivery keeps it aside); one still in the stream buffer is taken only once delivered.
        if (owned is not null)
        {
            _midMessageIn = more;
            _discardingIn = false;
        }
        string? result = Deliver(pipe, payload, more ? FrameFlags.More : FrameFlags.None, owned);
        if (owned is null && !ReferenceEquals(result, Stalled))
        {
            _midMessageIn = more;
            _discardingIn = false;
        }
        return result;
    }

    private void ReleaseOwned(byte[]? owned)
    {
        if (owned is not null)
            _pipe!.In.Buffers.Return(owned);
    }

    /// <summary>Queues a frame for the application, waiting (and so not reading the socket) while its queue is full.</summary>
    private string? Deliver(Pipe pipe, ReadOnlySpan<byte> payload, FrameFlags flags, byte[]? owned)
    {
        FrameQueue q = pipe.In;
        bool startsMessage = !q.HasUnpublished;
        if (startsMessage && q.QueuedMessages >= _options.ReceiveHighWatermark)
        {
            if (_callerReading)
                return Park(owned, payload.Length, flags);
            WaitForInboundRoom(q, 0, messageSlot: true);
        }
        while (!(owned is null ? q.TryWrite(payload, flags) : q.TryWriteOwned(owned, payload.Length, flags)))
        {
            if (q.ConsumerClosed || _closing)
            {
                ReleaseOwned(owned);
                return _closeReason ?? "the socket was closed";
            }
            if (q.HasUnpublished && !q.HasRoomFor(payload.Length))
                q.Publish(); // a message larger than the queue goes through in parts
            // The application's own thread cannot wait for itself to make room: it stops here,
            // reads what is queued, and comes back for the rest.
            if (_callerReading)
                return Park(owned, payload.Length, flags);
            WaitForInboundRoom(q, payload.Length, messageSlot: false);
        }
        if ((flags & FrameFlags.More) == 0)
            q.Publish();
        return null;
    }

    /// <summary>Says "stalled"; a frame in a buffer of its own is kept aside until there is room for it.</summary>
    private string Park(byte[]? owned, int length, FrameFlags flags)
    {
        if (owned is not null)
            _parked = (owned, length, flags);
        return Stalled;
    }

    /// <summary>Delivers a frame kept aside by a stalled delivery; null when none is left.</summary>
    private string? DeliverParked(Pipe pipe)
    {
        if (_parked is not var (array, length, flags))
            return null;
        _parked = null;
        return Deliver(pipe, array.AsSpan(0, length), flags, array);
    }

    private void WaitForInboundRoom(FrameQueue q, int size, bool messageSlot)
    {
        _inSpace.Wait(static st => st.Engine._closing || st.Queue.ConsumerClosed
                || (st.MessageSlot ? st.Queue.QueuedMessages < st.Engine._options.ReceiveHighWatermark : st.Queue.HasRoomFor(st.Size)),
            new RoomState(this, q, size, messageSlot), Deadlines.None);
    }

    private readonly record struct RoomState(ZmtpEngine Engine, FrameQueue Queue, int Size, bool MessageSlot);

    private string? OnCommand(Pipe pipe, ReadOnlySpan<byte> body)
    {
        if (_midMessageIn)
            return "protocol error: a command frame arrived in the middle of a multipart message";
        if (!ZmtpWire.TryParseCommand(body, out psyne_zmtp_command_kind kind, out _, out ReadOnlySpan<byte> data))
            return $"protocol error: {ZmtpWire.LastError()}";
        switch (kind)
        {
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_PING:
                if (!ZmtpWire.TryParsePing(data, out int ttl, out ReadOnlySpan<byte> context))
                    return $"protocol error: {ZmtpWire.LastError()}";
                if (ttl > 0 && _peerTtlTicks == 0 && _options.HeartbeatInterval <= TimeSpan.Zero)
                {
                    // The peer asks to be dropped after ttl deciseconds without traffic. libzmq honours
                    // that whether or not it heartbeats itself; without our own heartbeats the receive
                    // never timed out, so the TTL was never checked. Wake up often enough to check it.
                    _stream.ReceiveTimeoutMs = Math.Max(1, ttl * 100 / 4);
                }
                _peerTtlTicks = ttl * Stopwatch.Frequency / 10;
                QueueControl(ZmtpWire.Command("PONG", context));
                return null;
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_PONG:
                return null;
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_SUBSCRIBE:
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_CANCEL:
                if (_owner.Type is not (SocketType.Pub or SocketType.XPub))
                    return null;
                return Deliver(pipe, data, kind == psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_SUBSCRIBE ? FrameFlags.Subscribe : FrameFlags.Cancel, null);
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_ERROR:
                return $"the peer sent ERROR: {ErrorReason(data)}";
            case psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_UNKNOWN:
                return null; // ZMTP: ignore commands we do not know
            default:
                return $"protocol error: a {kind.ToString()["PSYNE_ZMTP_CMD_".Length..]} command after the handshake";
        }
    }

    private static string ErrorReason(ReadOnlySpan<byte> data)
    {
        if (data.Length == 0 || data[0] > data.Length - 1)
            return "(no reason given)";
        string reason = System.Text.Encoding.ASCII.GetString(data.Slice(1, data[0]));
        // libzmq's servers give only a ZAP status code (RFC 27) when they refuse credentials.
        return reason switch
        {
            "300" => "300 (ZAP: temporary authentication failure)",
            "400" => "400 (ZAP: authentication failed: credentials refused)",
            "500" => "500 (ZAP: internal authentication error)",
            _ => reason,
        };
    }

    /// <summary>
    /// Liveness and our PINGs, as libzmq does them: a PING every interval, and a connection from
    /// which nothing at all arrives within the timeout after a PING is closed (any byte counts,
    /// not only the PONG); a peer's PING TTL closes the connection if nothing arrives for that
    /// long, whether or not we send heartbeats ourselves. Null, or why the connection must close.
    /// </summary>
    private string? Heartbeat()
    {
        long now = Stopwatch.GetTimestamp();
        long silent = now - _lastReceived;
        if (_peerTtlTicks > 0 && silent > _peerTtlTicks)
        {
            return $"the peer's heartbeat TTL expired: nothing received for {Stopwatch.GetElapsedTime(_lastReceived, now).TotalMilliseconds:F0} ms, "
                + $"and its PINGs asked to be dropped after {_peerTtlTicks * 1000 / Stopwatch.Frequency} ms";
        }
        if (_options.HeartbeatInterval <= TimeSpan.Zero)
            return null; // only the peer's TTL applies
        TimeSpan timeout = _options.HeartbeatTimeout > TimeSpan.Zero ? _options.HeartbeatTimeout : _options.HeartbeatInterval;
        if (_pingDeadline != 0 && _lastReceived < _pingSentAt && now > _pingDeadline)
            return $"heartbeat timeout: nothing received from the peer for {Stopwatch.GetElapsedTime(_lastReceived, now).TotalMilliseconds:F0} ms after a PING";
        if (now - _lastPingSent >= _options.HeartbeatInterval.TotalSeconds * Stopwatch.Frequency)
        {
            _lastPingSent = now;
            if (_pingDeadline == 0 || _lastReceived >= _pingSentAt)
            {
                _pingSentAt = now;
                _pingDeadline = now + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            }
            Span<byte> ping = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(ping, (ushort)Math.Min(ushort.MaxValue, _options.HeartbeatTtl.TotalMilliseconds / 100));
            QueueControl(ZmtpWire.Command("PING", ping));
        }
        return null;
    }

    private void QueueControl(byte[] frame)
    {
        _control.Enqueue(frame);
        _sendSignal.NotifyAlways();
    }
}
