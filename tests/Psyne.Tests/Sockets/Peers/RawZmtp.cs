using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Psyne.Tests.Sockets.Peers;

/// <summary>One ZMTP frame as read off the wire.</summary>
internal readonly record struct ZmtpFrame(byte Flags, byte[] Body)
{
    public bool More => (Flags & RawZmtp.FlagMore) != 0;

    public bool IsLong => (Flags & RawZmtp.FlagLong) != 0;

    public bool IsCommand => (Flags & RawZmtp.FlagCommand) != 0;

    /// <summary>A command's name (the short string that starts its body).</summary>
    public string CommandName => IsCommand && Body.Length > 0 ? Encoding.ASCII.GetString(Body, 1, Math.Min(Body[0], Body.Length - 1)) : "";

    /// <summary>A command's data: the body after its name.</summary>
    public ReadOnlySpan<byte> CommandData => IsCommand && Body.Length > 0 ? Body.AsSpan(Math.Min(1 + Body[0], Body.Length)) : [];
}

/// <summary>
/// A hand-rolled ZMTP 3.x end over System.Net.Sockets (tcp, or a Unix socket for ipc:///unix://),
/// for the tests that feed a socket implementation bytes no well-behaved peer sends: it writes
/// exactly the bytes it is given, reads the peer's greeting, commands and frames, and tells
/// whether the peer closed the connection. The static builders make the pieces of RFC 37 (ZMTP
/// 3.1): <see cref="Greeting"/>, <see cref="Command"/>, <see cref="Ready"/>, <see cref="Frame"/>
/// and <see cref="LongFrameHeader"/>. Every read has a deadline.
/// </summary>
internal sealed class RawZmtp : IDisposable
{
    public const byte FlagMore = 0x01;
    public const byte FlagLong = 0x02;
    public const byte FlagCommand = 0x04;
    public const int GreetingSize = 64;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly Socket _socket;

    public RawZmtp(Socket connected)
    {
        _socket = connected;
    }

    public Socket Socket => _socket;

    // ---- connecting --------------------------------------------------------------------------

    /// <summary>Connects to <c>tcp://host:port</c>, or to the Unix socket of <c>ipc:///path</c> or <c>unix:///path</c>.</summary>
    public static RawZmtp Connect(string endpoint, TimeSpan? timeout = null)
    {
        EndPoint remote = Parse(endpoint);
        var socket = remote is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
            socket.ConnectAsync(remote, cts.Token).AsTask().GetAwaiter().GetResult();
            return new RawZmtp(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A listener on a free loopback tcp port, for a peer that connects to a raw ZMTP end; the endpoint is <c>tcp://127.0.0.1:port</c>.</summary>
    public static TcpListener Listen(out string endpoint)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        endpoint = $"tcp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        return listener;
    }

    /// <summary>Accepts one connection within <paramref name="timeout"/>.</summary>
    public static RawZmtp Accept(TcpListener listener, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        Socket socket = listener.AcceptSocketAsync(cts.Token).AsTask().GetAwaiter().GetResult();
        socket.NoDelay = true;
        return new RawZmtp(socket);
    }

    private static EndPoint Parse(string endpoint)
    {
        foreach (string scheme in new[] { "ipc://", "unix://" })
        {
            if (endpoint.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
                return new UnixDomainSocketEndPoint(endpoint[scheme.Length..]);
        }
        if (!endpoint.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{endpoint}' is not tcp://host:port, ipc:///path or unix:///path", nameof(endpoint));
        string hostPort = endpoint["tcp://".Length..];
        int colon = hostPort.LastIndexOf(':');
        string host = hostPort[..colon].Trim('[', ']');
        int port = int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        IPAddress address = IPAddress.TryParse(host, out IPAddress? ip) ? ip : Dns.GetHostAddresses(host)[0];
        return new IPEndPoint(address, port);
    }

    // ---- the handshake -----------------------------------------------------------------------

    /// <summary>
    /// A NULL-mechanism ZMTP 3.1 handshake: sends a greeting and READY (Socket-Type
    /// <paramref name="socketType"/>, Identity when given), reads the peer's greeting and READY, and
    /// returns the READY's properties. Fails if the peer answers anything else.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]> Handshake(string socketType, byte[]? identity = null, TimeSpan? timeout = null)
    {
        Send(Greeting());
        Send(Ready(socketType, identity));
        byte[] greeting = ReadGreeting(timeout);
        if (greeting[0] != 0xFF || greeting[9] != 0x7F || greeting[10] != 3)
            throw new InvalidDataException($"the peer's greeting is not ZMTP 3: {Convert.ToHexString(greeting)}");
        ZmtpFrame ready = ReadFrame(timeout);
        if (ready.CommandName != "READY")
            throw new InvalidDataException($"the peer sent {(ready.IsCommand ? "the command " + ready.CommandName : "a message frame")} instead of READY");
        return ParseMetadata(ready.CommandData);
    }

    /// <summary>The peer's 64-byte greeting.</summary>
    public byte[] ReadGreeting(TimeSpan? timeout = null) => ReadExactly(GreetingSize, timeout);

    /// <summary>The mechanism a greeting names ("NULL", "PLAIN", "CURVE").</summary>
    public static string MechanismOf(ReadOnlySpan<byte> greeting) => Encoding.ASCII.GetString(greeting.Slice(12, 20)).TrimEnd('\0');

    // ---- writing -----------------------------------------------------------------------------

    /// <summary>Writes <paramref name="bytes"/> exactly as they are.</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
            bytes = bytes[_socket.Send(bytes)..];
    }

    /// <summary>As <see cref="Send"/>, but false when the peer has already closed the connection.</summary>
    public bool TrySend(ReadOnlySpan<byte> bytes)
    {
        try
        {
            Send(bytes);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            return false;
        }
    }

    /// <summary>Sends a message of <paramref name="frames"/> (MORE on all but the last).</summary>
    public void SendMessage(params byte[][] frames)
    {
        for (int i = 0; i < frames.Length; i++)
            Send(Frame(frames[i], more: i < frames.Length - 1));
    }

    // ---- reading -----------------------------------------------------------------------------

    /// <summary>Exactly <paramref name="count"/> bytes; <see cref="TimeoutException"/> at the deadline, <see cref="EndOfStreamException"/> if the peer closes first.</summary>
    public byte[] ReadExactly(int count, TimeSpan? timeout = null)
    {
        byte[] buffer = new byte[count];
        long deadline = Deadline(timeout);
        int filled = 0;
        while (filled < count)
        {
            WaitReadable(deadline, $"{filled} of {count} bytes");
            int n = _socket.Receive(buffer.AsSpan(filled));
            if (n == 0)
                throw new EndOfStreamException($"the peer closed the connection after {filled} of {count} bytes");
            filled += n;
        }
        return buffer;
    }

    /// <summary>The next frame (a command or a message frame); bodies over <paramref name="maxBody"/> bytes are refused.</summary>
    public ZmtpFrame ReadFrame(TimeSpan? timeout = null, long maxBody = 64 << 20)
    {
        long deadline = Deadline(timeout);
        TimeSpan Left() => TimeSpan.FromSeconds(Math.Max(0, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency));
        byte flags = ReadExactly(1, Left())[0];
        ulong size = (flags & FlagLong) != 0 ? BinaryPrimitives.ReadUInt64BigEndian(ReadExactly(8, Left())) : ReadExactly(1, Left())[0];
        if (size > (ulong)maxBody)
            throw new InvalidDataException($"the peer announced a frame of {size} bytes (limit {maxBody})");
        return new ZmtpFrame(flags, ReadExactly((int)size, Left()));
    }

    /// <summary>The frames of the next message, skipping commands (PING, ...) between messages.</summary>
    public List<byte[]> ReadMessage(TimeSpan? timeout = null)
    {
        long deadline = Deadline(timeout);
        var frames = new List<byte[]>();
        while (true)
        {
            ZmtpFrame frame = ReadFrame(TimeSpan.FromSeconds(Math.Max(0, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency)));
            if (frame.IsCommand)
            {
                if (frames.Count > 0)
                    throw new InvalidDataException($"the peer sent the command {frame.CommandName} inside a multipart message");
                continue;
            }
            frames.Add(frame.Body);
            if (!frame.More)
                return frames;
        }
    }

    /// <summary>
    /// Whether the peer closes the connection within <paramref name="timeout"/>: reads and discards
    /// whatever it still sends until end of stream or a reset (true), or the deadline (false).
    /// </summary>
    public bool WaitForClose(TimeSpan? timeout = null)
    {
        long deadline = Deadline(timeout);
        byte[] scratch = new byte[4096];
        try
        {
            while (true)
            {
                long left = deadline - Stopwatch.GetTimestamp();
                if (left <= 0)
                    return false;
                int micros = (int)Math.Min(int.MaxValue, left * 1_000_000 / Stopwatch.Frequency);
                if (!_socket.Poll(micros, SelectMode.SelectRead))
                    continue;
                if (_socket.Receive(scratch) == 0)
                    return true;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return true;
        }
    }

    private void WaitReadable(long deadline, string what)
    {
        while (true)
        {
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
                throw new TimeoutException($"the peer sent nothing more in time (read {what})");
            int micros = (int)Math.Min(int.MaxValue, left * 1_000_000 / Stopwatch.Frequency);
            if (_socket.Poll(micros, SelectMode.SelectRead))
                return;
        }
    }

    private static long Deadline(TimeSpan? timeout) =>
        Stopwatch.GetTimestamp() + (long)((timeout ?? DefaultTimeout).TotalSeconds * Stopwatch.Frequency);

    public void Dispose() => _socket.Dispose();

    // ---- builders ----------------------------------------------------------------------------

    /// <summary>
    /// The 64-byte greeting: signature (0xFF, 8 bytes of padding, 0x7F), version
    /// <paramref name="major"/>.<paramref name="minor"/>, the mechanism name NUL-padded to 20 bytes,
    /// the as-server byte and 31 bytes of filler. A mechanism name over 20 bytes is cut.
    /// </summary>
    public static byte[] Greeting(byte major = 3, byte minor = 1, string mechanism = "NULL", bool asServer = false)
    {
        byte[] g = new byte[GreetingSize];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = major;
        g[11] = minor;
        byte[] name = Encoding.ASCII.GetBytes(mechanism);
        name.AsSpan(0, Math.Min(20, name.Length)).CopyTo(g.AsSpan(12));
        g[32] = asServer ? (byte)1 : (byte)0;
        return g;
    }

    /// <summary>A command frame: the name as a short string, then <paramref name="data"/>; long when the body exceeds 255 bytes.</summary>
    public static byte[] Command(string name, ReadOnlySpan<byte> data)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length > 255)
            throw new ArgumentException("A command name is at most 255 bytes.", nameof(name));
        byte[] body = new byte[1 + nameBytes.Length + data.Length];
        body[0] = (byte)nameBytes.Length;
        nameBytes.CopyTo(body, 1);
        data.CopyTo(body.AsSpan(1 + nameBytes.Length));
        return FrameWithFlags(body, FlagCommand, forceLong: null);
    }

    /// <summary>READY with Socket-Type and, when given, Identity, then any <paramref name="extra"/> properties in order.</summary>
    public static byte[] Ready(string socketType, byte[]? identity = null, params (string Name, byte[] Value)[] extra)
    {
        var properties = new List<(string, byte[])> { ("Socket-Type", Encoding.ASCII.GetBytes(socketType)) };
        if (identity is not null)
            properties.Add(("Identity", identity));
        properties.AddRange(extra);
        return Command("READY", Metadata([.. properties]));
    }

    /// <summary>Metadata properties: a short-string name, then a 4-byte big-endian length and the value, each.</summary>
    public static byte[] Metadata(params (string Name, byte[] Value)[] properties)
    {
        var bytes = new List<byte>();
        Span<byte> length = stackalloc byte[4];
        foreach ((string name, byte[] value) in properties)
        {
            byte[] nameBytes = Encoding.ASCII.GetBytes(name);
            bytes.Add((byte)nameBytes.Length);
            bytes.AddRange(nameBytes);
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
            bytes.AddRange(length.ToArray());
            bytes.AddRange(value);
        }
        return [.. bytes];
    }

    /// <summary>Parses metadata properties (names case as sent); throws <see cref="InvalidDataException"/> on a truncated one.</summary>
    public static IReadOnlyDictionary<string, byte[]> ParseMetadata(ReadOnlySpan<byte> data)
    {
        var properties = new Dictionary<string, byte[]>(StringComparer.OrdinalIgnoreCase);
        while (!data.IsEmpty)
        {
            int nameLength = data[0];
            if (data.Length < 1 + nameLength + 4)
                throw new InvalidDataException("truncated metadata property name");
            string name = Encoding.ASCII.GetString(data.Slice(1, nameLength));
            uint valueLength = BinaryPrimitives.ReadUInt32BigEndian(data[(1 + nameLength)..]);
            data = data[(1 + nameLength + 4)..];
            if (valueLength > (uint)data.Length)
                throw new InvalidDataException($"metadata property {name} claims {valueLength} bytes, {data.Length} left");
            properties[name] = data[..(int)valueLength].ToArray();
            data = data[(int)valueLength..];
        }
        return properties;
    }

    /// <summary>
    /// A message frame: flags (MORE as asked; LONG when <paramref name="long"/> says so or, left null,
    /// when the payload exceeds 255 bytes), the size (1 byte, or 8 big-endian), the payload.
    /// </summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, bool more = false, bool? @long = null) =>
        FrameWithFlags(payload, more ? FlagMore : (byte)0, @long);

    /// <summary>Just the header of a long frame: <paramref name="flags"/> | LONG, then <paramref name="size"/> big-endian (any size: to announce what never comes).</summary>
    public static byte[] LongFrameHeader(ulong size, byte flags = 0)
    {
        byte[] header = new byte[9];
        header[0] = (byte)(flags | FlagLong);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(1), size);
        return header;
    }

    /// <summary>Just the header of a short frame: <paramref name="flags"/> without LONG, then <paramref name="size"/>.</summary>
    public static byte[] ShortFrameHeader(byte size, byte flags = 0) => [(byte)(flags & ~FlagLong), size];

    private static byte[] FrameWithFlags(ReadOnlySpan<byte> body, byte flags, bool? forceLong)
    {
        bool isLong = forceLong ?? body.Length > 255;
        if (!isLong && body.Length > 255)
            throw new ArgumentException("A short frame carries at most 255 bytes.", nameof(forceLong));
        byte[] header = isLong ? LongFrameHeader((ulong)body.Length, flags) : ShortFrameHeader((byte)body.Length, flags);
        byte[] frame = new byte[header.Length + body.Length];
        header.CopyTo(frame, 0);
        body.CopyTo(frame.AsSpan(header.Length));
        return frame;
    }
}
