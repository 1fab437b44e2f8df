using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Psyne.Benchmarks.Peers;

// The peers of Psyne's ZeroMQ-compatible sockets: libzmq (LibZmq.cs), NetMQ (NetMqPeers.cs) and
// raw System.Net.Sockets, each as two threads of one process over loopback tcp. The same classes
// serve the BenchmarkDotNet suite (SocketBenchmarks) and `psyne bench sockets`. Every message
// carries its sequence number in its first 8 bytes (little-endian) and the receiving side checks
// it and the length, so a peer that loses, reorders or truncates messages is caught (Errors).

/// <summary>Something measured by the sockets benchmarks: a peer or, once it exists, Psyne.</summary>
public interface ISocketPeer : IDisposable
{
    /// <summary>What is measured, as a benchmark row names it.</summary>
    string Description { get; }
}

/// <summary>One-way throughput: a sender (the caller's thread) and a receiver thread that counts and checks.</summary>
public interface IThroughputPeer : ISocketPeer
{
    int MessageSize { get; }

    /// <summary>Messages the receiver found wrong (sequence or length).</summary>
    long Errors { get; }

    /// <summary>Sends <paramref name="count"/> messages and returns once the receiver has taken them all.</summary>
    void Send(long count);
}

/// <summary>A request and its reply: the caller's thread sends, an echo thread answers.</summary>
public interface IRoundTripPeer : ISocketPeer
{
    int MessageSize { get; }

    /// <summary>One round trip; throws if the reply is not the request's.</summary>
    void RoundTrip();
}

/// <summary>A throughput measurement.</summary>
public readonly record struct ThroughputResult(long Messages, long Bytes, double Seconds)
{
    public double MessagesPerSecond => Messages / Seconds;

    public double BytesPerSecond => Bytes / Seconds;
}

/// <summary>Runs a peer a fixed number of times (the budgeted runs are Measure in the CLI and BenchmarkDotNet).</summary>
public static class SocketPeerRuns
{
    /// <summary>Sends <paramref name="count"/> messages through <paramref name="peer"/> and times it.</summary>
    public static ThroughputResult Throughput(IThroughputPeer peer, long count)
    {
        long start = Stopwatch.GetTimestamp();
        peer.Send(count);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (peer.Errors != 0)
            throw new InvalidOperationException($"{peer.Description}: the receiver found {peer.Errors} wrong message(s)");
        return new ThroughputResult(count, count * peer.MessageSize, seconds);
    }

    /// <summary>The median of <paramref name="samples"/> round trips, in nanoseconds, after <paramref name="warmUp"/> unrecorded ones. The timed loop allocates nothing.</summary>
    public static double MedianRoundTripNanoseconds(IRoundTripPeer peer, int samples, int warmUp = 100)
    {
        for (int i = 0; i < warmUp; i++)
            peer.RoundTrip();
        long[] ticks = new long[samples];
        for (int i = 0; i < samples; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            peer.RoundTrip();
            ticks[i] = Stopwatch.GetTimestamp() - t0;
        }
        Array.Sort(ticks);
        return ticks[samples / 2] * 1e9 / Stopwatch.Frequency;
    }

    /// <summary>Waits (spinning, then yielding) until <paramref name="counter"/> reaches <paramref name="target"/>.</summary>
    internal static void WaitFor(ref PaddedCounter counter, long target)
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref counter.Value) != target)
            spin.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Checks a received message: its length and the sequence number in its first bytes.</summary>
    internal static bool Check(ReadOnlySpan<byte> message, int expectedLength, long expectedSequence) =>
        message.Length == expectedLength &&
        (expectedLength < 8 ? expectedLength == 0 || message[0] == (byte)expectedSequence : BinaryPrimitives.ReadInt64LittleEndian(message) == expectedSequence);

    /// <summary>Writes the sequence number into the first bytes of a message (all 8, or its low byte into a shorter one).</summary>
    internal static void Stamp(Span<byte> message, long sequence)
    {
        if (message.Length >= 8)
            BinaryPrimitives.WriteInt64LittleEndian(message, sequence);
        else if (message.Length > 0)
            message[0] = (byte)sequence;
    }
}

/// <summary>libzmq PUSH (the caller) to PULL (a receiver thread) over loopback tcp, zmq_send/zmq_recv on reused buffers: no allocation.</summary>
public sealed class LibZmqPushPull : IThroughputPeer
{
    private readonly ZmqContext _context;
    private readonly ZmqSocket _push;
    private readonly ZmqSocket _pull;
    private readonly Thread _receiver;
    private readonly byte[] _frame;
    private long _sent;
    private PaddedCounter _received;
    private long _errors;

    /// <param name="size">Bytes per message.</param>
    /// <param name="endpoint">Where PULL binds (libzmq form); loopback tcp on a free port by default.</param>
    public LibZmqPushPull(int size, string endpoint = "tcp://127.0.0.1:*")
    {
        MessageSize = size;
        _frame = new byte[size];
        _context = new ZmqContext();
        try
        {
            _pull = _context.Socket(ZmqSocketType.Pull);
            string bound = _pull.Bind(endpoint);
            _push = _context.Socket(ZmqSocketType.Push);
            _push.Connect(bound);
            Endpoint = bound;
        }
        catch
        {
            _pull?.Dispose();
            _push?.Dispose();
            _context.Dispose();
            throw;
        }
        _receiver = new Thread(Receive) { IsBackground = true, Name = "libzmq-pull" };
        _receiver.Start();
    }

    public string Endpoint { get; }

    public string Description => $"libzmq {LibZmq.Version} PUSH/PULL";

    public int MessageSize { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        long sent = _sent;
        for (long i = 0; i < count; i++)
        {
            SocketPeerRuns.Stamp(_frame, sent++);
            _push.Send(_frame);
        }
        _sent = sent;
        SocketPeerRuns.WaitFor(ref _received, sent);
    }

    private void Receive()
    {
        byte[] buffer = new byte[Math.Max(1, MessageSize)];
        long expected = 0;
        try
        {
            while (true)
            {
                int n = _pull.Receive(buffer);
                if (!SocketPeerRuns.Check(buffer.AsSpan(0, n), MessageSize, expected))
                    Interlocked.Increment(ref _errors);
                Volatile.Write(ref _received.Value, ++expected);
            }
        }
        catch (ZmqException e) when (e.IsTerminated)
        {
        }
        finally
        {
            _pull.Dispose();
        }
    }

    public void Dispose()
    {
        _context.Shutdown();
        _receiver.Join();
        _push.Dispose();
        _context.Dispose();
    }
}

/// <summary>libzmq REQ (the caller) and REP (an echo thread) over loopback tcp; no allocation per round trip.</summary>
public sealed class LibZmqReqRep : IRoundTripPeer
{
    private readonly ZmqContext _context;
    private readonly ZmqSocket _req;
    private readonly ZmqSocket _rep;
    private readonly Thread _echo;
    private readonly byte[] _request;
    private readonly byte[] _reply;
    private long _sequence;

    public LibZmqReqRep(int size, string endpoint = "tcp://127.0.0.1:*")
    {
        MessageSize = size;
        _request = new byte[size];
        _reply = new byte[Math.Max(1, size)];
        _context = new ZmqContext();
        try
        {
            _rep = _context.Socket(ZmqSocketType.Rep);
            string bound = _rep.Bind(endpoint);
            _req = _context.Socket(ZmqSocketType.Req);
            _req.Connect(bound);
        }
        catch
        {
            _rep?.Dispose();
            _req?.Dispose();
            _context.Dispose();
            throw;
        }
        _echo = new Thread(Echo) { IsBackground = true, Name = "libzmq-rep" };
        _echo.Start();
    }

    public string Description => $"libzmq {LibZmq.Version} REQ/REP";

    public int MessageSize { get; }

    public void RoundTrip()
    {
        long s = ++_sequence;
        SocketPeerRuns.Stamp(_request, s);
        _req.Send(_request);
        int n = _req.Receive(_reply);
        if (!SocketPeerRuns.Check(_reply.AsSpan(0, n), MessageSize, s))
            throw new InvalidOperationException($"libzmq REP answered request {s} with a wrong reply");
    }

    private void Echo()
    {
        byte[] buffer = new byte[Math.Max(1, MessageSize)];
        try
        {
            while (true)
            {
                int n = _rep.Receive(buffer);
                _rep.Send(buffer.AsSpan(0, n));
            }
        }
        catch (ZmqException e) when (e.IsTerminated)
        {
        }
        finally
        {
            _rep.Dispose();
        }
    }

    public void Dispose()
    {
        _context.Shutdown();
        _echo.Join();
        _req.Dispose();
        _context.Dispose();
    }
}

/// <summary>Loopback TCP sockets for the raw peers.</summary>
public static class RawTcp
{
    /// <summary>A connected pair over 127.0.0.1 with Nagle off: (the connecting side, the accepted side).</summary>
    public static (Socket Client, Socket Server) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        server.NoDelay = true;
        return (client, server);
    }

    /// <summary>Sends all of <paramref name="data"/>.</summary>
    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
            data = data[socket.Send(data)..];
    }

    /// <summary>Fills <paramref name="buffer"/>; false if the peer closed first.</summary>
    public static bool ReceiveAll(Socket socket, Span<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = socket.Receive(buffer);
            if (n == 0)
                return false;
            buffer = buffer[n..];
        }
        return true;
    }

    internal static void Close(Socket client, Thread thread)
    {
        try
        {
            client.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        client.Dispose();
        thread.Join();
    }
}

/// <summary>
/// The bandwidth ceiling: blocks (64 KiB by default) written with one send each and read whole by a
/// receiver thread, over loopback tcp; what any message layer over TCP can at best approach.
/// </summary>
public sealed class RawTcpBlocks : IThroughputPeer
{
    private readonly Socket _client;
    private readonly Socket _server;
    private readonly Thread _receiver;
    private readonly byte[] _block;
    private long _sent;
    private PaddedCounter _received;
    private long _errors;

    public RawTcpBlocks(int blockSize = 64 << 10)
    {
        if (blockSize < 8)
            throw new ArgumentOutOfRangeException(nameof(blockSize), "A block carries an 8-byte sequence number.");
        MessageSize = blockSize;
        _block = new byte[blockSize];
        (_client, _server) = RawTcp.ConnectedPair();
        _receiver = new Thread(Receive) { IsBackground = true, Name = "raw-tcp-blocks" };
        _receiver.Start();
    }

    public string Description => $"raw TCP, {FormatSize(MessageSize)} blocks, one send() each";

    public int MessageSize { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        long sent = _sent;
        for (long i = 0; i < count; i++)
        {
            SocketPeerRuns.Stamp(_block, sent++);
            RawTcp.SendAll(_client, _block);
        }
        _sent = sent;
        SocketPeerRuns.WaitFor(ref _received, sent);
    }

    private void Receive()
    {
        byte[] buffer = new byte[MessageSize];
        long expected = 0;
        try
        {
            while (RawTcp.ReceiveAll(_server, buffer))
            {
                if (!SocketPeerRuns.Check(buffer, MessageSize, expected))
                    Interlocked.Increment(ref _errors);
                Volatile.Write(ref _received.Value, ++expected);
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            _server.Dispose();
        }
    }

    public void Dispose() => RawTcp.Close(_client, _receiver);

    internal static string FormatSize(int bytes) => bytes >= 1024 && bytes % 1024 == 0 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}

/// <summary>
/// The upper bound for batching small messages: each message framed exactly as ZMTP frames it on
/// the wire (a short frame: flags 0, a 1-byte size, the payload; 34 bytes for 32), packed into
/// 64 KiB buffers written with one send each, and parsed back one frame at a time by a receiver
/// thread that checks each. A ZMTP socket moves the same bytes; this does no more work than that.
/// </summary>
public sealed class RawTcpFramed : IThroughputPeer
{
    private const int BufferSize = 64 << 10;
    private readonly Socket _client;
    private readonly Socket _server;
    private readonly Thread _receiver;
    private readonly byte[] _buffer = new byte[BufferSize];
    private long _sent;
    private PaddedCounter _received;
    private long _errors;

    public RawTcpFramed(int size = 32)
    {
        if (size is < 0 or > 255)
            throw new ArgumentOutOfRangeException(nameof(size), "Short ZMTP frames carry 0 to 255 bytes.");
        MessageSize = size;
        (_client, _server) = RawTcp.ConnectedPair();
        _receiver = new Thread(Receive) { IsBackground = true, Name = "raw-tcp-framed" };
        _receiver.Start();
    }

    public string Description => $"raw TCP, {MessageSize} B ZMTP-framed records packed in 64 KiB sends";

    public int MessageSize { get; }

    public long Errors => Interlocked.Read(ref _errors);

    public void Send(long count)
    {
        int record = 2 + MessageSize;
        int used = 0;
        long sent = _sent;
        for (long i = 0; i < count; i++)
        {
            if (used + record > BufferSize)
            {
                RawTcp.SendAll(_client, _buffer.AsSpan(0, used));
                used = 0;
            }
            Span<byte> frame = _buffer.AsSpan(used, record);
            frame[0] = 0; // flags: a final, short, message frame
            frame[1] = (byte)MessageSize;
            SocketPeerRuns.Stamp(frame[2..], sent++);
            used += record;
        }
        if (used > 0)
            RawTcp.SendAll(_client, _buffer.AsSpan(0, used));
        _sent = sent;
        SocketPeerRuns.WaitFor(ref _received, sent);
    }

    private void Receive()
    {
        byte[] buffer = new byte[BufferSize];
        int start = 0, end = 0;
        long expected = 0;
        try
        {
            while (true)
            {
                if (start > 0 && BufferSize - end < 2 + 255)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer); // keep the partial frame at the front
                    end -= start;
                    start = 0;
                }
                int n = _server.Receive(buffer.AsSpan(end));
                if (n == 0)
                    return;
                end += n;
                long before = expected;
                while (end - start >= 2)
                {
                    byte flags = buffer[start];
                    int size = buffer[start + 1];
                    if (end - start < 2 + size)
                        break;
                    if (flags != 0 || !SocketPeerRuns.Check(buffer.AsSpan(start + 2, size), MessageSize, expected))
                        Interlocked.Increment(ref _errors);
                    expected++;
                    start += 2 + size;
                }
                if (start == end)
                    start = end = 0;
                if (expected != before)
                    Volatile.Write(ref _received.Value, expected);
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            _server.Dispose();
        }
    }

    public void Dispose() => RawTcp.Close(_client, _receiver);
}

/// <summary>The latency floor over loopback tcp: one byte sent, echoed by another thread and read back (blocking send/recv, Nagle off).</summary>
public sealed class RawTcpPingPong : IRoundTripPeer
{
    private readonly Socket _client;
    private readonly Socket _server;
    private readonly Thread _echo;
    private readonly byte[] _out = new byte[1];
    private readonly byte[] _in = new byte[1];
    private byte _sequence;

    public RawTcpPingPong()
    {
        (_client, _server) = RawTcp.ConnectedPair();
        _echo = new Thread(Echo) { IsBackground = true, Name = "raw-tcp-echo" };
        _echo.Start();
    }

    public string Description => "raw TCP 1-byte ping-pong";

    public int MessageSize => 1;

    public void RoundTrip()
    {
        _out[0] = ++_sequence;
        RawTcp.SendAll(_client, _out);
        if (!RawTcp.ReceiveAll(_client, _in) || _in[0] != _sequence)
            throw new InvalidOperationException("the raw TCP echo returned a wrong byte or closed");
    }

    private void Echo()
    {
        byte[] buffer = new byte[1];
        try
        {
            while (RawTcp.ReceiveAll(_server, buffer))
                RawTcp.SendAll(_server, buffer);
        }
        catch (SocketException)
        {
        }
        finally
        {
            _server.Dispose();
        }
    }

    public void Dispose() => RawTcp.Close(_client, _echo);
}
