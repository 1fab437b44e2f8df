using System.Diagnostics;
using System.Globalization;
using NetMQ;
using NetMQ.Sockets;
using Psyne.Benchmarks.Peers;
using ZmqSocketType = Psyne.Benchmarks.Peers.ZmqSocketType; // NetMQ has one too
using Psyne.Cli.Commands;

namespace Psyne.Cli.Bench;

/// <summary>
/// The peers of the ipc stream case: 64-byte messages sent one at a time from this process to a
/// child (<c>psyne channel-peer</c>) that checks every one, over an anonymous pipe, NetMQ's
/// <c>ipc://</c> and libzmq's <c>ipc://</c>. Each returns seconds per message, from the first
/// send until the child reports that it has checked the last. The caller pins this thread; the
/// child pins itself to <see cref="ChildCpu"/>. A ZeroMQ I/O thread starts on its creator's
/// CPUs, so each process keeps to one CPU, I/O thread included, as Psyne's side does.
/// </summary>
internal static class ChildStreams
{
    public const int MessageSize = 64;

    private const string ChildCpu = "1";

    /// <summary>How many messages a measurement sends: about a second's worth at 1 M msg/s per second of budget.</summary>
    private static long Messages(TimeSpan budget) => Math.Max(20_000, (long)(budget.TotalSeconds * 1_000_000));

    /// <summary>Through the child's stdin, one write call per message.</summary>
    public static double Pipe(TimeSpan budget)
    {
        long count = Messages(budget);
        using Process sink = StartSink("pipe-sink", null, count);
        var client = new PipeClient(sink.StandardInput.BaseStream, sink.StandardOutput.BaseStream, MessageSize);
        long start = Stopwatch.GetTimestamp();
        client.Stream(count);
        return Finish(sink, count, start);
    }

    /// <summary>NetMQ PUSH to the child's PULL over NetMQ's ipc:// (loopback tcp on a port derived from the name).</summary>
    public static double NetMqIpc(TimeSpan budget)
    {
        long count = Messages(budget);
        string endpoint = $"ipc://psyne-bench-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using Process sink = StartSink("netmq-pull", endpoint, count);
        using var push = new PushSocket();
        push.Connect(endpoint);
        return SendNumbered(sink, count, frame => push.SendFrame(frame));
    }

    public static string NetMqDescription => $"NetMQ {NetMqPeers.Version} PUSH/PULL over its ipc:// (loopback tcp) to a child";

    /// <summary>libzmq PUSH to the child's PULL over libzmq's ipc:// (a Unix socket); the caller checks <see cref="LibZmq.IsAvailable"/>.</summary>
    public static double LibZmqIpc(TimeSpan budget)
    {
        long count = Messages(budget);
        string path = Path.Combine(Path.GetTempPath(), $"psyne-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        string endpoint = "ipc://" + path;
        try
        {
            using Process sink = StartSink("zmq-pull", endpoint, count);
            using var context = new ZmqContext();
            using ZmqSocket push = context.Socket(ZmqSocketType.Push);
            push.SetOption(LibZmq.ZMQ_LINGER, -1); // every message reaches the child before close
            push.Connect(endpoint);
            return SendNumbered(sink, count, frame => push.Send(frame));
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static string LibZmqDescription => $"libzmq {LibZmq.Version} PUSH/PULL over ipc:// (a Unix socket) to a child";

    private static Process StartSink(string mode, string? endpoint, long count)
    {
        string[] options = ["--count", count.ToString(CultureInfo.InvariantCulture), "--size", MessageSize.ToString(CultureInfo.InvariantCulture), "--cpu", ChildCpu];
        Process sink = ChannelPeerCommand.Start(endpoint is null ? [mode, .. options] : [mode, endpoint, .. options]);
        try
        {
            ChannelPeerCommand.WaitReady(sink);
            return sink;
        }
        catch
        {
            sink.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="count"/> numbered messages with <paramref name="send"/>, one call each; seconds per message until the child has checked them all.</summary>
    private static double SendNumbered(Process sink, long count, Action<byte[]> send)
    {
        byte[] frame = new byte[MessageSize];
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < count; i++)
        {
            SequencedPayload.Fill(frame, (ulong)i);
            send(frame);
        }
        return Finish(sink, count, start);
    }

    /// <summary>Waits for the child's summary (every message there, none wrong); seconds per message since <paramref name="start"/>.</summary>
    private static double Finish(Process sink, long count, long start)
    {
        ChannelPeerCommand.ExpectLine(sink, $"read {count} errors 0", TimeSpan.FromSeconds(60));
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        sink.WaitForExit(10_000);
        return seconds / count;
    }
}
