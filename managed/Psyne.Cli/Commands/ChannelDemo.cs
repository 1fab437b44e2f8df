using System.Diagnostics;
using System.Globalization;
using Psyne.Benchmarks.Peers;
using Psyne.Messaging;
using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary>
/// The channel step of <c>psyne demo</c>: streams float32 tensors over <c>ipc://</c> to a second
/// real process (this CLI's hidden <c>channel-peer tensor-read</c>), which validates every header
/// and CRC32C-chains every byte it reads in place; the demo compares the chain with its own.
/// </summary>
public static class ChannelDemo
{
    private const int Tensors = 64;
    private const int Side = 1024; // 1024 x 1024 float32 = 4 MiB a tensor

    /// <summary>Tensors sent (and checked) before the clock starts: the first ones pay for the segment's page faults and both processes' JIT.</summary>
    private const int WarmUp = 8;

    /// <summary>Runs the step; returns the number of failed checks.</summary>
    public static int Run()
    {
        AnsiConsole.Write(new Rule("Zero-copy tensors to a second process over ipc://"));
        string uri = $"ipc://demo-{Environment.ProcessId}";
        long bytesEach = (long)Side * Side * sizeof(float);
        uint crc = 0;
        string summary;
        int pid;
        double seconds;
        using (Channel channel = Channel.Create(uri, new ChannelOptions { Capacity = 16 << 20 }, ChannelRole.Producer))
        using (Process reader = ChannelPeerCommand.Start("tensor-read", uri))
        {
            pid = reader.Id;
            ChannelPeerCommand.WaitReady(reader);
            long start = 0;
            for (int i = 0; i < WarmUp + Tensors; i++)
            {
                if (i == WarmUp)
                {
                    WaitDrained(channel); // the reader has taken the warm-up tensors
                    start = Stopwatch.GetTimestamp();
                }
                TensorReservation<float> tensor = channel.ReserveTensor<float>([Side, Side]);
                TensorPattern.Fill(tensor.Data, i); // written where the other process will read it
                crc = Crc32C.Append(crc, tensor.DataBytes);
                tensor.Commit();
            }
            channel.Dispose(); // the reader drains every tensor, then sees the channel closed
            summary = ChannelPeerCommand.ReadLine(reader, TimeSpan.FromSeconds(60));
            seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            reader.WaitForExit(10_000);
        }

        string expected = string.Create(CultureInfo.InvariantCulture, $"tensors {WarmUp + Tensors} bytes {(WarmUp + Tensors) * bytesEach} crc 0x{crc:X8} errors 0");
        bool ok = summary == expected;
        AnsiConsole.MarkupLineInterpolated(
            $"{Tensors} tensors of {Side}x{Side} f32 ({Tensors * bytesEach >> 20} MiB, after {WarmUp} to warm up) filled in place and read in place by pid {pid}, each side also CRC32C-chaining every byte: {seconds * 1e3:F0} ms, {Tensors * bytesEach / seconds / 1e9:F2} GB/s, {Tensors / seconds:F0} tensors/s");
        string verdict = ok ? "[green]matches[/]" : "[red]MISMATCH[/]";
        AnsiConsole.MarkupLine(
            $"CRC32C chain 0x{crc:X8} written, the reader says [italic]{Markup.Escape(summary)}[/]: {verdict} (0 copies: the ring is shared memory)");
        return ok ? 0 : 1;
    }

    private static void WaitDrained(Channel channel)
    {
        var spin = new SpinWait();
        while (channel.GetStatistics().UsedBytes != 0)
            spin.SpinOnce();
    }
}
