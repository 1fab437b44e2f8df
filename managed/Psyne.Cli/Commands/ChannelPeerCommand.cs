using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using NetMQ;
using NetMQ.Sockets;
using Psyne.Benchmarks.Peers;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType; // NetMQ has one too
using Psyne.Messaging;

namespace Psyne.Cli.Commands;

/// <summary>
/// <c>psyne channel-peer &lt;mode&gt; [uri [uri2]] [--count N] [--size B] [--cpu C]</c>: the other process of
/// the multi-process demo, benchmarks and tests (hidden from help). It opens channels created by
/// its parent, prints <c>ready</c> on stdout once attached, does its part, and ends with one
/// summary line. Modes:
/// <list type="bullet">
/// <item><c>write uri</c>: writes --count sequenced records of --size bytes (0: until killed), then closes.</item>
/// <item><c>read uri</c>: reads --count records (0: until the channel closes), checking every byte; prints <c>read N errors E bytes B</c>.</item>
/// <item><c>hold uri</c>: reads --count records, prints ready, then reads nothing more until killed or stdin closes.</item>
/// <item><c>echo in out</c>: returns every record of <c>in</c> on <c>out</c> until <c>in</c> closes.</item>
/// <item><c>tensor-read uri</c>: reads f32 tensors, CRC32C-chains their data; prints <c>tensors N bytes B crc 0xC errors E</c>.</item>
/// <item><c>pipe-echo</c>: echoes --size-byte messages from stdin to stdout (the pipe ping-pong peer).</item>
/// <item><c>pipe-sink</c>: reads --count --size-byte messages from stdin, checking them; prints <c>read N errors E</c>.</item>
/// <item><c>netmq-pull endpoint</c>, <c>zmq-pull endpoint</c>: binds a NetMQ or libzmq PULL socket there, then reads and checks --count messages as pipe-sink does.</item>
/// </list>
/// </summary>
internal static class ChannelPeerCommand
{
    public const string Name = "channel-peer";

    public static Command Create()
    {
        var mode = new Argument<string>("mode") { Description = "write, read, hold, echo, tensor-read, pipe-echo, pipe-sink, netmq-pull or zmq-pull." };
        mode.AcceptOnlyFromAmong("write", "read", "hold", "echo", "tensor-read", "pipe-echo", "pipe-sink", "netmq-pull", "zmq-pull");
        var uris = new Argument<string[]>("uri") { Arity = new ArgumentArity(0, 2), Description = "The channel(s), created by the parent (the endpoint for netmq-pull and zmq-pull)." };
        var count = new Option<long>("--count") { Description = "Records to move; 0: until the channel closes (or the process is killed)." };
        var size = new Option<int>("--size") { Description = "Record size in bytes.", DefaultValueFactory = _ => 64 };
        var cpu = new Option<int>("--cpu") { Description = "Pin the working thread to this CPU (-1: do not).", DefaultValueFactory = _ => -1 };
        var command = new Command(Name, "The peer process of channel demos, benchmarks and tests.") { mode, uris, count, size, cpu };
        command.Hidden = true;
        command.SetAction(r => CliErrors.Run(() => Run(r.GetValue(mode)!, r.GetValue(uris) ?? [], r.GetValue(count), r.GetValue(size), r.GetValue(cpu))));
        return command;
    }

    private static int Run(string mode, string[] uris, long count, int size, int cpu)
    {
        using CpuAffinity.Scope? pin = CpuAffinity.Pin(cpu);
        string Uri(int i) => i < uris.Length ? uris[i] : throw new ArgumentException($"channel-peer {mode} needs {i + 1} channel URI(s)");
        return mode switch
        {
            "write" => Write(Uri(0), count, size),
            "read" => Read(Uri(0), count),
            "hold" => Hold(Uri(0), count),
            "echo" => Echo(Uri(0), Uri(1)),
            "tensor-read" => TensorRead(Uri(0), count),
            "pipe-echo" => PipeEcho(size),
            "pipe-sink" => PipeSink(count, size),
            "netmq-pull" => NetMqPull(Uri(0), count, size),
            "zmq-pull" => ZmqPull(Uri(0), count, size),
            _ => CliErrors.Failure,
        };
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    private static int Write(string uri, long count, int size)
    {
        using Channel channel = Channel.OpenExisting(uri, ChannelRole.Producer);
        Say("ready");
        ulong sequence = 0;
        for (; count == 0 || (long)sequence < count; sequence++)
        {
            ChannelReservation r = channel.Reserve(size);
            SequencedPayload.Fill(r.Span, sequence);
            r.Commit();
        }
        Say($"wrote {sequence}");
        return 0;
    }

    private static int Read(string uri, long count)
    {
        using Channel channel = Channel.OpenExisting(uri, ChannelRole.Consumer);
        Say("ready");
        long n = 0, errors = 0, bytes = 0;
        try
        {
            for (; count == 0 || n < count; n++)
            {
                ChannelMessage m = channel.Read();
                if (!SequencedPayload.Check(m.Payload, (ulong)n))
                    errors++;
                bytes += m.Length;
                m.Release();
            }
        }
        catch (PsyneClosedException)
        {
            // Every producer left (or died) and every record was delivered.
        }
        Say($"read {n} errors {errors} bytes {bytes}");
        return errors == 0 ? 0 : CliErrors.Failure;
    }

    private static int Hold(string uri, long count)
    {
        using Channel channel = Channel.OpenExisting(uri, ChannelRole.Consumer);
        for (long i = 0; i < count; i++)
            channel.Read().Release();
        Say("ready");
        // Attached and reading nothing, until the parent kills this process or closes stdin.
        Console.OpenStandardInput().CopyTo(Stream.Null);
        return 0;
    }

    private static int Echo(string input, string output)
    {
        using Channel from = Channel.OpenExisting(input, ChannelRole.Consumer);
        using Channel to = Channel.OpenExisting(output, ChannelRole.Producer);
        Say("ready");
        long n = 0;
        try
        {
            while (true)
            {
                ChannelMessage m = from.Read();
                ChannelReservation r = to.Reserve(m.Length);
                m.Payload.CopyTo(r.Span);
                r.Commit(m.Type);
                m.Release();
                n++;
            }
        }
        catch (PsyneClosedException)
        {
        }
        Say($"echoed {n}");
        return 0;
    }

    private static int TensorRead(string uri, long count)
    {
        using Channel channel = Channel.OpenExisting(uri, ChannelRole.Consumer);
        Say("ready");
        long n = 0, bytes = 0, errors = 0;
        uint crc = 0;
        try
        {
            for (; count == 0 || n < count; n++)
            {
                using TensorMessage t = channel.ReadTensor();
                if (t.DType != TensorDType.F32 || t.Rank < 1)
                    errors++;
                ReadOnlySpan<float> values = t.GetData<float>();
                if (values.Length != t.ElementCount)
                    errors++;
                crc = Crc32C.Append(crc, t.DataBytes);
                bytes += t.DataBytes.Length;
            }
        }
        catch (PsyneClosedException)
        {
        }
        Say(string.Create(CultureInfo.InvariantCulture, $"tensors {n} bytes {bytes} crc 0x{crc:X8} errors {errors}"));
        return errors == 0 ? 0 : CliErrors.Failure;
    }

    private static int PipeEcho(int size)
    {
        using Stream input = Console.OpenStandardInput();
        using Stream output = Console.OpenStandardOutput();
        byte[] buffer = new byte[size];
        Say("ready");
        while (true)
        {
            try
            {
                input.ReadExactly(buffer);
            }
            catch (EndOfStreamException)
            {
                return 0;
            }
            output.Write(buffer);
            output.Flush();
        }
    }

    private static int PipeSink(long count, int size)
    {
        using Stream input = Console.OpenStandardInput();
        byte[] buffer = new byte[size * 1024];
        Say("ready");
        long received = 0, errors = 0, total = count * size;
        int pending = 0;
        while (received < total)
        {
            int n = input.Read(buffer, pending, buffer.Length - pending);
            if (n == 0)
                break;
            pending += n;
            int whole = pending / size * size;
            for (int off = 0; off < whole; off += size)
            {
                if (!SequencedPayload.Check(buffer.AsSpan(off, size), (ulong)(received / size)))
                    errors++;
                received += size;
            }
            Buffer.BlockCopy(buffer, whole, buffer, 0, pending - whole);
            pending -= whole;
        }
        Say($"read {received / size} errors {errors}");
        return errors == 0 ? 0 : CliErrors.Failure;
    }

    private static int NetMqPull(string endpoint, long count, int size)
    {
        using var pull = new PullSocket();
        pull.Bind(endpoint);
        Say("ready");
        return CheckNumbered(count, size, () => pull.ReceiveFrameBytes());
    }

    private static int ZmqPull(string endpoint, long count, int size)
    {
        using var context = new ZmqContext();
        using ZmqSocket pull = context.Socket(ZmqSocketType.Pull);
        pull.Bind(endpoint);
        Say("ready");
        byte[] buffer = new byte[size]; // a longer message throws (ZmqSocket.Receive)
        return CheckNumbered(count, size, () => buffer.AsSpan(0, pull.Receive(buffer)));
    }

    private delegate ReadOnlySpan<byte> NextMessage();

    /// <summary>Checks <paramref name="count"/> messages numbered from 0 (SequencedPayload); prints <c>read N errors E</c>.</summary>
    private static int CheckNumbered(long count, int size, NextMessage next)
    {
        long errors = 0;
        for (long n = 0; n < count; n++)
        {
            ReadOnlySpan<byte> message = next();
            if (message.Length != size || !SequencedPayload.Check(message, (ulong)n))
                errors++;
        }
        Say($"read {count} errors {errors}");
        return errors == 0 ? 0 : CliErrors.Failure;
    }

    // ---- the parent's side --------------------------------------------------------------------

    /// <summary>Starts this CLI as a peer process with stdin and stdout redirected (dotnet Psyne.Cli.dll, or the tool's own executable).</summary>
    public static Process Start(params string[] arguments)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            info.ArgumentList.Add(typeof(ChannelPeerCommand).Assembly.Location);
        info.ArgumentList.Add(Name);
        foreach (string a in arguments)
            info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {host} {Name}");
    }

    /// <summary>Reads the peer's next stdout line, failing with its stderr if it ends or takes longer than <paramref name="timeout"/>.</summary>
    public static string ReadLine(Process peer, TimeSpan timeout)
    {
        Task<string?> line = peer.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeout))
        {
            peer.Kill(entireProcessTree: true);
            throw new TimeoutException($"the channel peer said nothing for {timeout.TotalSeconds:F0} s");
        }
        return line.Result ?? throw new InvalidOperationException(
            $"the channel peer ended (exit {(peer.WaitForExit(5000) ? peer.ExitCode : -1)}): {peer.StandardError.ReadToEnd().Trim()}");
    }

    /// <summary>Waits for the peer's <c>ready</c> line.</summary>
    public static void WaitReady(Process peer) => ExpectLine(peer, "ready", TimeSpan.FromSeconds(30));

    /// <summary>Reads the peer's next stdout line (as <see cref="ReadLine"/>) and fails unless it is <paramref name="expected"/>.</summary>
    public static void ExpectLine(Process peer, string expected, TimeSpan timeout)
    {
        string line = ReadLine(peer, timeout);
        if (line != expected)
            throw new InvalidOperationException($"the channel peer said '{line}', expected '{expected}'");
    }
}
