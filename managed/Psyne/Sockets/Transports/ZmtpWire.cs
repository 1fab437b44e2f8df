using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Sockets.Transports;

/// <summary>
/// ZMTP 3.1 as Psyne writes it (frame headers, commands, metadata) and the managed face of
/// libpsyne's bounds-checked parser for what peers send (<c>psyne_zmtp.h</c>). Everything read
/// from the wire is parsed natively, where it is fuzzed.
/// </summary>
internal static unsafe class ZmtpWire
{
    public const int GreetingSize = PsyneNative.PSYNE_ZMTP_GREETING_SIZE;
    public const int PrefixSize = PsyneNative.PSYNE_ZMTP_GREETING_PREFIX_SIZE;
    public const byte FlagMore = PsyneNative.PSYNE_ZMTP_FLAG_MORE;
    public const byte FlagLong = PsyneNative.PSYNE_ZMTP_FLAG_LONG;
    public const byte FlagCommand = PsyneNative.PSYNE_ZMTP_FLAG_COMMAND;
    public const int MaxHeaderSize = 9;

    // ---- writing -------------------------------------------------------------------------------

    /// <summary>Writes a frame header for <paramref name="size"/> payload bytes; returns its length (2 or 9).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteFrameHeader(Span<byte> destination, long size, bool more, bool command = false)
    {
        byte flags = (byte)((more ? FlagMore : 0) | (command ? FlagCommand : 0));
        if (size <= 255)
        {
            destination[0] = flags;
            destination[1] = (byte)size;
            return 2;
        }
        destination[0] = (byte)(flags | FlagLong);
        BinaryPrimitives.WriteInt64BigEndian(destination[1..], size);
        return 9;
    }

    public static byte[] Greeting(psyne_zmtp_mechanism mechanism, bool asServer)
    {
        byte[] greeting = new byte[GreetingSize];
        fixed (byte* p = greeting)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_zmtp_greeting_write(p, (nuint)greeting.Length, (uint)mechanism, asServer ? 1u : 0u));
        return greeting;
    }

    /// <summary>A whole command frame: header, name length, name, data.</summary>
    public static byte[] Command(string name, ReadOnlySpan<byte> data)
    {
        int bodySize = 1 + name.Length + data.Length;
        int header = bodySize <= 255 ? 2 : 9;
        byte[] frame = new byte[header + bodySize];
        WriteFrameHeader(frame, bodySize, more: false, command: true);
        frame[header] = (byte)name.Length;
        Encoding.ASCII.GetBytes(name, frame.AsSpan(header + 1));
        data.CopyTo(frame.AsSpan(header + 1 + name.Length));
        return frame;
    }

    /// <summary>Metadata: (1-byte name length, name, 4-byte big-endian value length, value) per property.</summary>
    public static byte[] Metadata(params (string Name, byte[] Value)[] properties)
    {
        var buffer = new List<byte>();
        Span<byte> len = stackalloc byte[4];
        foreach (var (name, value) in properties)
        {
            buffer.Add((byte)name.Length);
            buffer.AddRange(Encoding.ASCII.GetBytes(name));
            BinaryPrimitives.WriteInt32BigEndian(len, value.Length);
            buffer.AddRange(len.ToArray());
            buffer.AddRange(value);
        }
        return [.. buffer];
    }

    public static byte[] Ready(PsyneSocket socket)
    {
        byte[]? identity = socket.AnnouncedIdentity;
        return identity is { Length: > 0 } && socket.Type is SocketType.Req or SocketType.Dealer or SocketType.Router
            ? Metadata(("Socket-Type", Encoding.ASCII.GetBytes(socket.Type.WireName())), ("Identity", identity))
            : Metadata(("Socket-Type", Encoding.ASCII.GetBytes(socket.Type.WireName())));
    }

    /// <summary>An ERROR command; the reason is cut to the 255 bytes ZMTP allows.</summary>
    public static byte[] Error(string reason)
    {
        byte[] text = Encoding.ASCII.GetBytes(reason.Length > 255 ? reason[..255] : reason);
        byte[] data = new byte[1 + text.Length];
        data[0] = (byte)text.Length;
        text.CopyTo(data, 1);
        return Command("ERROR", data);
    }

    // ---- reading (libpsyne) ------------------------------------------------------------------

    /// <summary>Null while what arrived could still be a ZMTP 3 greeting; otherwise why not.</summary>
    public static string? CheckGreetingPrefix(ReadOnlySpan<byte> received)
    {
        fixed (byte* p = received)
        {
            psyne_status s = PsyneNative.psyne_zmtp_greeting_check_prefix(p, (nuint)Math.Min(received.Length, PrefixSize));
            return s == psyne_status.PSYNE_OK ? null : NativeStatus.LastErrorMessage();
        }
    }

    public static bool TryParseGreeting(ReadOnlySpan<byte> greeting, out psyne_zmtp_greeting parsed, out string? problem)
    {
        psyne_zmtp_greeting g;
        psyne_status s;
        fixed (byte* p = greeting)
            s = PsyneNative.psyne_zmtp_greeting_parse(p, (nuint)greeting.Length, &g);
        parsed = g;
        problem = s == psyne_status.PSYNE_OK ? null : NativeStatus.LastErrorMessage();
        return problem is null;
    }

    /// <summary>Decodes complete frames; the status and message say what was wrong with the next one.</summary>
    public static psyne_status Decode(ReadOnlySpan<byte> data, ulong maxFrame, Span<psyne_zmtp_frame> frames,
        out int count, out int consumed, out long pending)
    {
        nuint n, used;
        ulong next;
        psyne_status s;
        fixed (byte* p = data)
        fixed (psyne_zmtp_frame* f = frames)
            s = PsyneNative.psyne_zmtp_decode(p, (nuint)data.Length, maxFrame, f, (nuint)frames.Length, &n, &used, &next);
        count = (int)n;
        consumed = (int)used;
        // The native side bounds a frame's size below 2^63, but header + size can still exceed
        // long.MaxValue (a LONG frame claiming 2^63 - 1 bytes: 2^63 + 8). Cast as it was, that came
        // out negative, the engine took it for "nothing pending" and waited on that connection for
        // ever instead of refusing the frame; saturate instead, so it is refused as too large.
        pending = next > long.MaxValue ? long.MaxValue : (long)next;
        return s;
    }

    public static bool TryParseCommand(ReadOnlySpan<byte> body, out psyne_zmtp_command_kind kind, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> data)
    {
        psyne_zmtp_command c;
        psyne_status s;
        fixed (byte* p = body)
            s = PsyneNative.psyne_zmtp_command_parse(p, (nuint)body.Length, &c);
        if (s != psyne_status.PSYNE_OK)
        {
            kind = default;
            name = data = default;
            return false;
        }
        kind = (psyne_zmtp_command_kind)c.kind;
        name = body.Slice((int)c.name_offset, (int)c.name_size);
        data = body.Slice((int)c.data_offset, (int)c.data_size);
        return true;
    }

    /// <summary>Finds a metadata property; false with a problem when the metadata is malformed.</summary>
    public static bool TryFindProperty(ReadOnlySpan<byte> metadata, string name, out bool found, out ReadOnlySpan<byte> value, out string? problem)
    {
        byte[] nameBytes = Encoding.ASCII.GetBytes(name);
        psyne_zmtp_property prop;
        uint hit;
        psyne_status s;
        fixed (byte* p = metadata)
        fixed (byte* n = nameBytes)
            s = PsyneNative.psyne_zmtp_metadata_find(p, (nuint)metadata.Length, n, (nuint)nameBytes.Length, &prop, &hit);
        if (s != psyne_status.PSYNE_OK)
        {
            found = false;
            value = default;
            problem = NativeStatus.LastErrorMessage();
            return false;
        }
        found = hit != 0;
        value = found ? metadata.Slice((int)prop.value_offset, (int)prop.value_size) : default;
        problem = null;
        return true;
    }

    public static bool TryParsePlainHello(ReadOnlySpan<byte> data, out string user, out string password)
    {
        ulong uo, us, po, ps;
        psyne_status s;
        fixed (byte* p = data)
            s = PsyneNative.psyne_zmtp_plain_hello_parse(p, (nuint)data.Length, &uo, &us, &po, &ps);
        if (s != psyne_status.PSYNE_OK)
        {
            user = password = "";
            return false;
        }
        user = Encoding.UTF8.GetString(data.Slice((int)uo, (int)us));
        password = Encoding.UTF8.GetString(data.Slice((int)po, (int)ps));
        return true;
    }

    public static bool TryParsePing(ReadOnlySpan<byte> data, out int ttlDeciseconds, out ReadOnlySpan<byte> context)
    {
        uint ttl;
        ulong co, cs;
        psyne_status s;
        fixed (byte* p = data)
            s = PsyneNative.psyne_zmtp_ping_parse(p, (nuint)data.Length, &ttl, &co, &cs);
        if (s != psyne_status.PSYNE_OK)
        {
            ttlDeciseconds = 0;
            context = default;
            return false;
        }
        ttlDeciseconds = (int)ttl;
        context = data.Slice((int)co, (int)cs);
        return true;
    }

    public static string LastError() => NativeStatus.LastErrorMessage();
}
