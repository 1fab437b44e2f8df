using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Psyne.Interop;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

// The greeting and the mechanism's handshake (NULL or PLAIN), then attaching the pipe.
internal sealed partial class ZmtpEngine
{
    private long _handshakeDeadline;

    /// <summary>Null when messages may flow; otherwise why the handshake failed (the connection is then closed).</summary>
    private string? Handshake()
    {
        _handshakeDeadline = Deadlines.From(_options.HandshakeTimeout);
        bool plain = _options.PlainServer || _options.PlainUsername is not null;
        psyne_zmtp_mechanism mechanism = plain ? psyne_zmtp_mechanism.PSYNE_ZMTP_MECHANISM_PLAIN : psyne_zmtp_mechanism.PSYNE_ZMTP_MECHANISM_NULL;
        SendRaw(ZmtpWire.Greeting(mechanism, _options.PlainServer));

        // The greeting: check the first bytes as they come, so a peer that is not ZMTP 3 is dropped at once.
        while (_filled < ZmtpWire.GreetingSize)
        {
            if (!ReceiveSome())
                return _filled == 0 ? "the peer closed the connection before its greeting" : $"the peer closed the connection after {_filled} bytes of its greeting";
            if (ZmtpWire.CheckGreetingPrefix(_recv.AsSpan(0, Math.Min(_filled, ZmtpWire.PrefixSize))) is { } bad)
                return $"bad greeting: {bad}";
        }
        if (!ZmtpWire.TryParseGreeting(_recv.AsSpan(0, ZmtpWire.GreetingSize), out psyne_zmtp_greeting greeting, out string? problem))
            return $"bad greeting: {problem}";
        _start = ZmtpWire.GreetingSize;
        _peerIsZmtp30 = greeting.version_major == 3 && greeting.version_minor == 0;
        if ((psyne_zmtp_mechanism)greeting.mechanism != mechanism)
        {
            SendRaw(ZmtpWire.Error("Security mechanism mismatch"));
            return $"security mechanism mismatch: we use {Name(mechanism)}, the peer {Name((psyne_zmtp_mechanism)greeting.mechanism)}";
        }

        ReadOnlySpan<byte> metadata;
        if (!plain)
        {
            SendRaw(ZmtpWire.Command("READY", ZmtpWire.Ready(_owner)));
            if (ExpectCommand(psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_READY, out metadata) is { } e)
                return e;
        }
        else if (_options.PlainServer)
        {
            // A peer that sets as-server is a misconfigured server too. (libzmq always sends 0 here and
            // never checks it, so a cleared bit proves nothing; see the client branch.)
            if (greeting.as_server != 0)
                return "both sides claim to be the PLAIN server";
            if (ExpectCommand(psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_HELLO, out ReadOnlySpan<byte> hello) is { } e)
                return e;
            if (!ZmtpWire.TryParsePlainHello(hello, out string user, out string password))
                return $"bad PLAIN HELLO: {ZmtpWire.LastError()}";
            if (_options.PlainAuthenticator is { } check && !check(user, password))
            {
                // The reason is the ZAP status code (RFC 27) "400", as libzmq's PLAIN server sends:
                // libzmq's client reports a refusal as an authentication failure (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                // only when the reason is such a code; free text reads to it as a protocol error.
                SendRaw(ZmtpWire.Error(ZapStatusAuthenticationFailed));
                return $"PLAIN authentication failed for user '{user}'";
            }
            SendRaw(ZmtpWire.Command("WELCOME", []));
            if (ExpectCommand(psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_INITIATE, out metadata) is { } e2)
                return e2;
            if (CheckPeerMetadata(metadata, out SocketType _, out _) is { } bad)
                return bad;
            SendRaw(ZmtpWire.Command("READY", ZmtpWire.Ready(_owner)));
        }
        else
        {
            // No check of the peer's as-server bit: libzmq's greeting always carries 0 there (a libzmq
            // PLAIN server included) and libzmq never reads it, so requiring 1 refused every libzmq
            // server. Two clients still fail cleanly: the peer answers our HELLO with its own HELLO
            // (or waits), which ExpectCommand(WELCOME) reports.
            byte[] user = Encoding.UTF8.GetBytes(_options.PlainUsername!);
            byte[] password = Encoding.UTF8.GetBytes(_options.PlainPassword ?? "");
            byte[] hello = [(byte)user.Length, .. user, (byte)password.Length, .. password];
            SendRaw(ZmtpWire.Command("HELLO", hello));
            if (ExpectCommand(psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_WELCOME, out _) is { } e)
                return e;
            SendRaw(ZmtpWire.Command("INITIATE", ZmtpWire.Ready(_owner)));
            if (ExpectCommand(psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_READY, out metadata) is { } e2)
                return e2;
        }
        if (CheckPeerMetadata(metadata, out SocketType peerType, out byte[]? identity) is { } mismatch)
            return mismatch;
        _stream.ReceiveTimeoutMs = 0;
        return Attach(peerType, identity);
    }

    /// <summary>The ERROR reason a PLAIN server sends for refused credentials: ZAP's (RFC 27) "400", as libzmq does.</summary>
    private const string ZapStatusAuthenticationFailed = "400";

    private static string Name(psyne_zmtp_mechanism m) => m.ToString()["PSYNE_ZMTP_MECHANISM_".Length..];

    /// <summary>Checks the peer's Socket-Type (ERROR and close when it cannot talk to ours) and reads its Identity.</summary>
    private string? CheckPeerMetadata(ReadOnlySpan<byte> metadata, out SocketType peerType, out byte[]? identity)
    {
        peerType = default;
        identity = null;
        if (!ZmtpWire.TryFindProperty(metadata, "Socket-Type", out bool found, out ReadOnlySpan<byte> typeName, out string? problem))
            return $"bad metadata: {problem}";
        if (!found)
            return "the peer's metadata has no Socket-Type";
        if (!SocketTypes.TryParseWireName(typeName, out peerType) || !_owner.Type.IsCompatibleWith(peerType))
        {
            SendRaw(ZmtpWire.Error("Invalid socket type"));
            return $"incompatible socket type: this is {_owner.Type.WireName()}, the peer is {Encoding.ASCII.GetString(typeName)}";
        }
        if (!ZmtpWire.TryFindProperty(metadata, "Identity", out found, out ReadOnlySpan<byte> id, out problem))
            return $"bad metadata: {problem}";
        if (found && id.Length > 0)
        {
            if (id.Length > 255 || id[0] == 0)
                return "the peer's Identity is longer than 255 bytes or starts with a zero byte";
            identity = id.ToArray();
        }
        return null;
    }

    private string? Attach(SocketType peerType, byte[]? identity)
    {
        if (!_owner.AcceptsAnotherPeer && _persistentPipe is null)
        {
            SendRaw(ZmtpWire.Error("Socket already has a peer"));
            return $"this {_owner.Type.WireName()} socket already has its peer";
        }
        Pipe pipe = _persistentPipe ?? new Pipe(new FrameQueue(_options.QueueBytes), new FrameQueue(_options.QueueBytes), persistent: false, _peer);
        if (identity is not null)
            pipe.RoutingId = identity;
        if (_owner.Type == SocketType.Router && identity is not null)
        {
            // Two live peers with one identity: the newcomer gets a generated id, as libzmq does by default.
            foreach (Pipe other in _owner.Pipes)
            {
                if (other != pipe && !other.IsTerminated && other.RoutingId.AsSpan().SequenceEqual(identity))
                {
                    pipe.RoutingId = Pipe.NewRoutingId();
                    break;
                }
            }
        }
        pipe.PeerSocketType = peerType.WireName();
        pipe.Out.ConsumerSignal = _sendSignal;
        pipe.In.ProducerSignal = _inSpace;
        pipe.Owner = this;
        _pipe = pipe;
        if (_persistentPipe is null)
            _owner.Attach(pipe);
        if (_owner is SubSocket sub)
        {
            foreach (byte[] topic in sub.TakeSubscriptionsForNewConnection(pipe))
                _control.Enqueue(SubscriptionFrame(topic, subscribe: true));
        }
        return null;
    }

    /// <summary>Reads the next frame, which must be the command <paramref name="expected"/> (ERROR is reported with its reason).</summary>
    private string? ExpectCommand(psyne_zmtp_command_kind expected, out ReadOnlySpan<byte> data)
    {
        data = default;
        string want = expected.ToString()["PSYNE_ZMTP_CMD_".Length..];
        while (true)
        {
            psyne_status status = ZmtpWire.Decode(_recv.AsSpan(_start, _filled - _start), 64 * 1024, _frames.AsSpan(0, 1),
                out int count, out _, out long pending);
            if (count == 1)
            {
                psyne_zmtp_frame f = _frames[0];
                if ((f.flags & ZmtpWire.FlagCommand) == 0)
                    return $"protocol error: a message frame before the handshake finished (expected {want})";
                ReadOnlySpan<byte> body = _recv.AsSpan(_start + (int)f.offset, (int)f.size);
                _start += (int)(f.header_size + f.size);
                if (IsLibZmqPlainError(body, out ReadOnlySpan<byte> refusal))
                    return $"the peer refused the handshake: {ErrorReason(refusal)}";
                if (!ZmtpWire.TryParseCommand(body, out psyne_zmtp_command_kind kind, out _, out data))
                    return $"protocol error: {ZmtpWire.LastError()}";
                if (kind == psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_ERROR)
                    return $"the peer refused the handshake: {ErrorReason(data)}";
                if (kind != expected)
                    return $"protocol error: expected {want}, the peer sent {(kind == psyne_zmtp_command_kind.PSYNE_ZMTP_CMD_UNKNOWN ? "an unknown command" : kind.ToString()["PSYNE_ZMTP_CMD_".Length..])}";
                return null;
            }
            if (status != psyne_status.PSYNE_OK)
                return $"protocol error during the handshake: {ZmtpWire.LastError()}";
            if (pending > _recv.Length - _start)
            {
                if (pending > _recv.Length)
                    return $"a handshake command of {pending} bytes is larger than Psyne accepts";
                int left = _filled - _start;
                Buffer.BlockCopy(_recv, _start, _recv, 0, left);
                _start = 0;
                _filled = left;
            }
            if (!ReceiveSome())
                return $"the peer closed the connection during the handshake (waiting for {want})";
        }
    }

    /// <summary>
    /// libzmq's PLAIN mechanism (4.x, plain_common.hpp) spells its ERROR command's name <c>"\x05ERROR"</c>
    /// in C, where the greedy hex escape reads <c>\x05E</c> as one byte: what it sends is 0x5E "RROR",
    /// without the name-length byte, then the reason (a ZAP status code, "400" for refused
    /// credentials). libzmq's clients compare against the same bytes, so only libzmq understood it;
    /// without this, a libzmq server's refusal read as a malformed command ("a command name of 94
    /// bytes") instead of "refused". Psyne itself sends the conformant form.
    /// </summary>
    private static bool IsLibZmqPlainError(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> data)
    {
        if (body.Length >= 6 && body[0] == 0x5E && body[1..5].SequenceEqual("RROR"u8))
        {
            data = body[5..];
            return true;
        }
        data = default;
        return false;
    }

    /// <summary>Reads more bytes within the handshake deadline; false when the peer closed.</summary>
    private bool ReceiveSome()
    {
        int ms = Deadlines.RemainingMilliseconds(_handshakeDeadline, cap: int.MaxValue);
        if (ms == 0)
            throw HandshakeTimeout();
        _stream.ReceiveTimeoutMs = ms == int.MaxValue ? 0 : ms;
        int n = _stream.Receive(_recv, _filled, _recv.Length - _filled);
        if (n < 0)
            throw HandshakeTimeout();
        _filled += n;
        return n > 0;
    }

    private IOException HandshakeTimeout()
    {
        _closeReason ??= $"handshake timeout: the peer did not complete the handshake within {_options.HandshakeTimeout.TotalMilliseconds:F0} ms";
        return new IOException(_closeReason);
    }

    /// <summary>A blocking write of a whole buffer (handshake frames).</summary>
    private void SendRaw(ReadOnlySpan<byte> bytes) => _stream.Send(bytes);

    private byte[] SubscriptionFrame(ReadOnlySpan<byte> topic, bool subscribe)
    {
        if (!_peerIsZmtp30)
            return ZmtpWire.Command(subscribe ? "SUBSCRIBE" : "CANCEL", topic);
        byte[] frame = new byte[ZmtpWire.MaxHeaderSize + 1 + topic.Length];
        int h = ZmtpWire.WriteFrameHeader(frame, topic.Length + 1, more: false);
        frame[h] = subscribe ? (byte)1 : (byte)0;
        topic.CopyTo(frame.AsSpan(h + 1));
        return frame[..(h + 1 + topic.Length)];
    }

}
