using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Psyne.Tests.Support;

namespace Psyne.Tests.Messaging;

/// <summary>Names, payloads and peer processes for the channel tests.</summary>
internal static class ChannelTestSupport
{
    private static int _next;

    /// <summary>A name no other test (or concurrent test run) uses: the pid, a counter and a label.</summary>
    public static string UniqueName(string label) => $"t{Environment.ProcessId}-{Interlocked.Increment(ref _next)}-{label}";

    /// <summary>An inproc URI of its own for each call.</summary>
    public static string InprocUri(string label) => $"inproc://{UniqueName(label)}";

    /// <summary>An ipc URI of its own for each call.</summary>
    public static string IpcUri(string label) => $"ipc://{UniqueName(label)}";

    /// <summary>The payload the CLI's channel peer writes and checks (benchmarks/Peers/ChannelPeers.cs SequencedPayload), restated here so the tests check it independently.</summary>
    public static void Fill(Span<byte> payload, ulong sequence)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(payload, sequence);
        payload[8..].Fill((byte)sequence);
    }

    public static bool Check(ReadOnlySpan<byte> payload, ulong sequence) =>
        payload.Length >= 8 && BinaryPrimitives.ReadUInt64LittleEndian(payload) == sequence && payload[8..].IndexOfAnyExcept((byte)sequence) < 0;

    /// <summary>The tensor values the peer expects (TensorPattern in ChannelPeers.cs).</summary>
    public static void FillTensor(Span<float> data, long sequence)
    {
        float offset = sequence % 1000;
        for (int i = 0; i < data.Length; i++)
            data[i] = offset + (i & 0xFFFF) * 0.25f;
    }

    /// <summary>The sequence in the first bytes (as many as fit) and a byte pattern after.</summary>
    public static void FillAny(Span<byte> payload, ulong sequence)
    {
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, sequence);
        for (int i = 0; i < payload.Length; i++)
            payload[i] = i < 8 ? s[i] : (byte)(sequence + (ulong)i);
    }

    public static bool CheckAny(ReadOnlySpan<byte> payload, ulong sequence)
    {
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, sequence);
        for (int i = 0; i < payload.Length; i++)
        {
            if (payload[i] != (i < 8 ? s[i] : (byte)(sequence + (ulong)i)))
                return false;
        }
        return true;
    }
}

/// <summary>
/// A real child process: <c>dotnet Psyne.Cli.dll channel-peer ...</c>, with stdout read line by
/// line and stderr collected. Disposing kills it if it still runs.
/// </summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly StringBuilder _stderr = new();

    private PeerProcess(Process process)
    {
        Process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                    _stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public int Id => Process.Id;

    public string Stderr
    {
        get
        {
            lock (_stderr)
                return _stderr.ToString();
        }
    }

    public static PeerProcess Start(params string[] arguments) => StartWith(null, arguments);

    /// <summary>Starts the peer with extra environment variables (e.g. <c>PSYNE_MANAGED_DATA_PATH=0</c>: every call through libpsyne).</summary>
    public static PeerProcess StartWith(IReadOnlyDictionary<string, string>? environment, params string[] arguments) =>
        StartCommand("channel-peer", environment, arguments);

    /// <summary>Starts the channel peer with every call through libpsyne (<c>PSYNE_MANAGED_DATA_PATH=0</c>) and waits until it is ready.</summary>
    public static PeerProcess StartOnLibpsynesPath(params string[] arguments)
    {
        PeerProcess peer = StartWith(new Dictionary<string, string> { ["PSYNE_MANAGED_DATA_PATH"] = "0" }, arguments);
        peer.WaitReady();
        return peer;
    }

    /// <summary>Starts the CLI's hidden peer command <paramref name="command"/> (channel-peer, socket-peer).</summary>
    public static PeerProcess StartCommand(string command, params string[] arguments) => StartCommand(command, null, arguments);

    private static PeerProcess StartCommand(string command, IReadOnlyDictionary<string, string>? environment, string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.TestDirectory,
        };
        info.ArgumentList.Add(RepoPaths.CliDll);
        info.ArgumentList.Add(command);
        foreach (string a in arguments)
            info.ArgumentList.Add(a);
        info.Environment.Remove("PSYNE_ISA");
        info.Environment.Remove("PSYNE_NATIVE_PATH");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment.Remove("PSYNE_MANAGED_DATA_PATH");
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
            info.Environment[name] = value;
        return new PeerProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start the channel peer"));
    }

    public string ReadLine(TimeSpan? timeout = null)
    {
        Task<string?> line = Process.StandardOutput.ReadLineAsync();
        if (!line.Wait(timeout ?? TimeSpan.FromSeconds(60)))
            Assert.Fail($"the channel peer said nothing in time; stderr:\n{Stderr}");
        if (line.Result is null)
        {
            Process.WaitForExit(10_000);
            Assert.Fail($"the channel peer ended (exit {(Process.HasExited ? Process.ExitCode : -1)}) before printing a line; stderr:\n{Stderr}");
        }
        return line.Result!;
    }

    public void WaitReady() => Assert.That(ReadLine(), Is.EqualTo("ready"), Stderr);

    /// <summary>The peer's last line is <paramref name="summary"/>, and it exits with 0.</summary>
    public void ExpectSummary(string summary)
    {
        Assert.That(ReadLine(), Is.EqualTo(summary), Stderr);
        Assert.That(WaitForExit(), Is.Zero, Stderr);
    }

    /// <summary>kill -9, and waits until the process is gone.</summary>
    public void Kill()
    {
        Process.Kill(entireProcessTree: true);
        Process.WaitForExit();
    }

    public int WaitForExit(TimeSpan? timeout = null)
    {
        if (!Process.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            Process.Kill(entireProcessTree: true);
            Assert.Fail($"the channel peer did not exit in time; stderr:\n{Stderr}");
        }
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
                Kill();
        }
        catch (InvalidOperationException)
        {
        }
        Process.Dispose();
    }
}
