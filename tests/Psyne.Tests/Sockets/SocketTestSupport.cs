using System.Text;
using Psyne.Sockets;

namespace Psyne.Tests.Sockets;

/// <summary>Endpoints and small helpers shared by the socket tests.</summary>
internal static class SocketTestSupport
{
    private static int s_counter;

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    /// <summary>A fresh endpoint of the given transport: tcp on an ephemeral port, a unix path in the temp folder, a unique inproc name.</summary>
    public static string Endpoint(string transport) => transport switch
    {
        "tcp" => "tcp://127.0.0.1:0",
        "unix" => $"unix://{Path.Combine(Path.GetTempPath(), $"psyne-test-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}.sock")}",
        "inproc" => $"inproc://test-{Interlocked.Increment(ref s_counter)}",
        "ipc" => $"ipc://psyne-test-{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}",
        _ => throw new ArgumentOutOfRangeException(nameof(transport)),
    };

    public static SocketOptions Options(Action<SocketOptions>? configure = null)
    {
        var o = new SocketOptions { Linger = TimeSpan.FromSeconds(2), ReconnectInterval = TimeSpan.FromMilliseconds(20) };
        configure?.Invoke(o);
        return o;
    }

    public static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    public static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    /// <summary>Receives a whole message or fails the test after <see cref="Patience"/>.</summary>
    public static List<byte[]> Expect(PsyneSocket socket)
    {
        Assert.That(socket.TryReceiveMultipart(Patience, out List<byte[]>? frames), Is.True, $"{socket} received nothing within {Patience}");
        return frames!;
    }

    public static string ExpectText(PsyneSocket socket)
    {
        List<byte[]> frames = Expect(socket);
        Assert.That(frames, Has.Count.EqualTo(1));
        return Text(frames[0]);
    }

    /// <summary>Waits until a condition holds (connections come up on their own threads).</summary>
    public static void Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }
}
