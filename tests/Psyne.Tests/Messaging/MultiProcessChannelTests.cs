using System.Diagnostics;
using System.Globalization;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// ipc channels between this process and a real second process (the CLI's hidden
/// <c>psyne channel-peer</c>). Liveness bounds: the issue asks for 1 s; the tests allow 3 s so a
/// loaded CI machine does not fail them.
/// </summary>
[NonParallelizable]
public class MultiProcessChannelTests
{
    private static readonly TimeSpan LivenessBound = TimeSpan.FromSeconds(3);

    [Test]
    public void OneMillionSmallMessagesArriveInOrder()
    {
        const int count = 1_000_000;
        string uri = IpcUri("million");
        using Channel consumer = Channel.Create(uri, new ChannelOptions { Capacity = 1 << 20 }, ChannelRole.Consumer);
        using PeerProcess writer = PeerProcess.Start("write", uri, "--count", count.ToString(CultureInfo.InvariantCulture), "--size", "24");
        writer.WaitReady();
        for (int i = 0; i < count; i++)
        {
            using ChannelMessage m = consumer.Read(TimeSpan.FromSeconds(30));
            if (m.Length != 24 || !Check(m.Payload, (ulong)i))
                Assert.Fail($"message {i} is wrong: {m.Length} bytes, sequence {BitConverter.ToUInt64(m.Payload)}");
        }
        Assert.That(writer.ReadLine(), Is.EqualTo($"wrote {count}"));
        Assert.Throws<PsyneClosedException>(() => consumer.Read(TimeSpan.FromSeconds(30)), "the writer closed after its last record");
        Assert.That(writer.WaitForExit(), Is.Zero, writer.Stderr);
        ChannelStatistics s = consumer.GetStatistics();
        Assert.That((s.MessagesWritten, s.MessagesRead), Is.EqualTo(((long)count, (long)count)));
    }

    [Test]
    public void A256MiBTensorCrossesWithoutACopy()
    {
        string uri = IpcUri("tensor256");
        const int side = 8192; // 8192 × 8192 float32 = 256 MiB
        using Channel producer = Channel.Create(uri, new ChannelOptions { Capacity = 512L << 20 }, ChannelRole.Producer);
        using PeerProcess reader = PeerProcess.Start("tensor-read", uri, "--count", "1");
        reader.WaitReady();

        TensorReservation<float> t = producer.ReserveTensor<float>([side, side]);
        Span<float> data = t.Data;
        Assert.That(data.Length, Is.EqualTo(side * side));
        FillTensor(data, 0);
        uint crc = Crc32C.Compute(t.DataBytes);
        t.Commit();

        string line = reader.ReadLine(TimeSpan.FromMinutes(2));
        Assert.That(line, Is.EqualTo($"tensors 1 bytes {256L << 20} crc 0x{crc:X8} errors 0"), reader.Stderr);
        Assert.That(reader.WaitForExit(), Is.Zero, reader.Stderr);
    }

    [Test]
    public void KilledWriterIsDrainedThenClosedWithinTheBound()
    {
        string uri = IpcUri("killwriter");
        using Channel consumer = Channel.Create(uri, new ChannelOptions { Capacity = 1 << 16 }, ChannelRole.Consumer);
        using PeerProcess writer = PeerProcess.Start("write", uri, "--count", "0", "--size", "64");
        writer.WaitReady();
        ulong next = 0;
        for (; next < 20_000; next++)
        {
            using ChannelMessage m = consumer.Read(TimeSpan.FromSeconds(30));
            Assert.That(Check(m.Payload, next), Is.True, $"message {next}");
        }

        int pid = writer.Id;
        writer.Kill();
        var clock = Stopwatch.StartNew();
        var closed = Assert.Throws<PsyneClosedException>(() =>
        {
            while (true)
            {
                using ChannelMessage m = consumer.Read(TimeSpan.FromSeconds(30));
                if (!Check(m.Payload, next++))
                    Assert.Fail($"message {next - 1} is wrong after the kill");
            }
        })!;
        TestContext.Out.WriteLine($"closed {clock.Elapsed.TotalMilliseconds:F0} ms after the kill, {next - 20_000} records drained after it: {closed.Message}");
        Assert.That(clock.Elapsed, Is.LessThan(LivenessBound));
        Assert.That(closed.Message, Does.Contain(pid.ToString(CultureInfo.InvariantCulture)));
        Assert.That(consumer.State, Is.EqualTo(ChannelState.Faulted));
        Assert.That(consumer.FaultPid, Is.EqualTo(pid));
    }

    [Test]
    public void KilledReaderFailsABlockedReserveWithinTheBound()
    {
        string uri = IpcUri("killreader");
        using Channel producer = Channel.Create(uri, new ChannelOptions { Capacity = 1 << 14 }, ChannelRole.Producer);
        using PeerProcess reader = PeerProcess.Start("hold", uri, "--count", "10");
        for (int i = 0; i < 10; i++)
            producer.Write(i);
        reader.WaitReady();
        while (producer.TryWrite(new byte[64]))
        {
        }

        long killedAt = 0;
        Task<TimeSpan> blocked = Task.Run(() =>
        {
            try
            {
                producer.Reserve(64);
            }
            catch (PsyneClosedException)
            {
                return Stopwatch.GetElapsedTime(Volatile.Read(ref killedAt));
            }
            throw new AssertionException("Reserve returned although the only reader is dead");
        });
        Thread.Sleep(200); // let it block
        Assert.That(blocked.IsCompleted, Is.False, "the reserve should wait for room");
        Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
        reader.Kill();
        Assert.That(blocked.Wait(TimeSpan.FromSeconds(30)), Is.True, "the blocked reserve never returned");
        TestContext.Out.WriteLine($"the blocked reserve failed {blocked.Result.TotalMilliseconds:F0} ms after the kill");
        Assert.That(blocked.Result, Is.LessThan(LivenessBound));
        Assert.Throws<PsyneClosedException>(() => producer.TryReserve(8, out _));
    }

    [Test]
    public void ForeignFileInTheSegmentsPlaceIsAFormatError()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Ignore("ipc segments are files under /dev/shm on Linux only");
        string uri = IpcUri("foreign");
        string path = Channel.GetSegmentPath(uri);
        Assert.That(path, Does.Contain(ChannelAddress.Parse(uri).Name));
        File.WriteAllBytes(path, new byte[8192]);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var e = Assert.Throws<PsyneFormatException>(() => Channel.OpenExisting(uri))!;
            Assert.That(e.Message, Does.Contain("magic"));
            Assert.Throws<PsyneFormatException>(() => Channel.Open(uri));
            Assert.That(File.Exists(path), Is.True, "a foreign file is left alone");
        }
        finally
        {
            Assert.That(Channel.DeleteSegment(uri), Is.True);
        }
        Assert.That(Channel.DeleteSegment(uri), Is.False);
        using Channel fresh = Channel.Create(uri, new ChannelOptions { Capacity = 4096 });
        Assert.That(fresh.State, Is.EqualTo(ChannelState.Open));
    }

    [TestCase(4, "version")]
    [TestCase(100, "")] // a reserved byte: the header checksum no longer matches
    public void CorruptedSegmentHeaderIsAFormatError(int offset, string expected)
    {
        string uri = IpcUri("corrupt");
        using Channel owner = Channel.Create(uri, new ChannelOptions { Capacity = 4096 }, ChannelRole.Producer);
        string path = Channel.GetSegmentPath(uri);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = offset;
            int b = file.ReadByte();
            file.Position = offset;
            file.WriteByte((byte)(b ^ 0x07));
        }
        var e = Assert.Throws<PsyneFormatException>(() => Channel.OpenExisting(uri, ChannelRole.Consumer))!;
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void CorruptRecordHeaderFaultsTheChannelWithAFormatError()
    {
        string uri = IpcUri("corruptring");
        using Channel ch = Channel.Create(uri, new ChannelOptions { Capacity = 4096 });
        ch.Write(7L);
        using (var file = new FileStream(Channel.GetSegmentPath(uri), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 4096 + 3; // the first record's length, high byte: far beyond the ring
            file.WriteByte(0x7F);
        }
        Assert.Throws<PsyneFormatException>(() => ch.TryRead(out _));
        Assert.That(ch.State, Is.EqualTo(ChannelState.Faulted));
    }

    [Test]
    public void IpcJobsAndJobs2InAnotherProcessDoNotInterfere()
    {
        string jobs = UniqueName("jobs");
        using Channel a = Channel.Create($"ipc://{jobs}", new ChannelOptions { Capacity = 1 << 16 }, ChannelRole.Consumer);
        using Channel b = Channel.Create($"ipc://{jobs}2", new ChannelOptions { Capacity = 1 << 16 }, ChannelRole.Consumer);
        using PeerProcess writer = PeerProcess.Start("write", $"ipc://{jobs}2", "--count", "500", "--size", "16");
        writer.WaitReady();
        Assert.That(writer.ReadLine(), Is.EqualTo("wrote 500"));
        for (int i = 0; i < 500; i++)
        {
            using ChannelMessage m = b.Read(TimeSpan.FromSeconds(30));
            Assert.That(Check(m.Payload, (ulong)i), Is.True);
        }
        Assert.That(a.TryRead(out _), Is.False, "nothing written to jobs2 shows up in jobs");
        Assert.That(a.GetStatistics().MessagesWritten, Is.Zero);
    }
}
