using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Psyne.Benchmarks.Peers;
using Psyne.Interop;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// The managed SPSC data path (ChannelCore: the common case of reserve, commit, read and release
/// runs in C# on the ring's bytes; everything else calls libpsyne). These tests mix it with
/// libpsyne's own calls on one ring, in this process and across processes, over wraps, padding,
/// zero-length and aligned records, and check that sleepers on either side are woken.
/// </summary>
[NonParallelizable]
public unsafe class ChannelDataPathTests
{
    [Test]
    public void OnlySpscRingsTakeTheManagedPath()
    {
        using Channel spsc = Channel.Open(InprocUri("spsc"));
        using Channel mpsc = Channel.Open(InprocUri("mpsc"), new ChannelOptions { Kind = ChannelKind.Mpsc });
        Assert.That(spsc.Core.Fast, Is.True);
        Assert.That(mpsc.Core.Fast, Is.False);
        // The lean paths (LeanPathTests): owned SPSC rings only, an ipc handle's mapping included.
        using Channel ipc = Channel.Open(IpcUri("spsc"));
        Assert.That((spsc.Core.LeanProducer, spsc.Core.LeanConsumer, ipc.Core.LeanProducer, ipc.Core.LeanConsumer), Is.EqualTo((0, 0, 0, 0)));
        Assert.That((mpsc.Core.LeanProducer, mpsc.Core.LeanConsumer), Is.EqualTo((1, 1)));
        bool saved = ChannelCore.ManagedDataPath;
        ChannelCore.ManagedDataPath = false;
        try
        {
            using Channel off = Channel.Open(InprocUri("off"));
            Assert.That(off.Core.Fast, Is.False, "PSYNE_MANAGED_DATA_PATH=0 sends every call through libpsyne");
            Assert.That((off.Core.LeanProducer, off.Core.LeanConsumer), Is.EqualTo((1, 1)));
        }
        finally
        {
            ChannelCore.ManagedDataPath = saved;
        }
    }

    /// <summary>Sizes 0..300 with 8- and 64-byte alignment through a 4 KiB ring: wraps with padding every few records.</summary>
    [Test]
    public void WrapsZeroLengthAndAlignedRecordsRoundTrip()
    {
        using Channel ch = Channel.Open(InprocUri("wrap"), new ChannelOptions { Capacity = 4096 });
        Assert.That(ch.Core.Fast, Is.True);
        var held = new Queue<ChannelMessage>();
        ulong written = 0, read = 0;
        long bytes = 0;
        var random = new Random(7);
        for (int round = 0; round < 20_000; round++)
        {
            // Up to 3 records outstanding, so reads find several and releases find records behind them.
            int burst = random.Next(1, 4);
            for (int i = 0; i < burst; i++)
            {
                int size = SizeOf(written);
                int alignment = written % 5 == 0 ? 64 : 0;
                if (!ch.TryReserve(size, out ChannelReservation r, alignment))
                    break;
                Assert.That((long)(nint)Unsafe.AsPointer(ref r.Span.GetPinnableReference()) % Math.Max(8, alignment), Is.Zero);
                FillAny(r.Span, written);
                r.Commit(type: (ushort)(written & 0xFFFF));
                bytes += size;
                written++;
            }
            while (ch.TryRead(out ChannelMessage m))
            {
                Assert.That(m.Length, Is.EqualTo(SizeOf(read)), $"record {read}");
                Assert.That(m.Type, Is.EqualTo((ushort)(read & 0xFFFF)));
                Assert.That(CheckAny(m.Payload, read), Is.True, $"record {read}");
                held.Enqueue(m);
                read++;
            }
            // Release the oldest (the managed path) or, now and then, the newest first (libpsyne's markers).
            if (held.Count > 1 && random.Next(4) == 0)
            {
                ChannelMessage[] all = [.. held];
                held.Clear();
                for (int i = all.Length - 1; i >= 0; i--)
                    all[i].Release();
            }
            while (held.Count > 0)
                held.Dequeue().Release();
        }
        Assert.That(read, Is.EqualTo(written));
        ChannelStatistics s = ch.GetStatistics();
        Assert.That((s.MessagesWritten, s.MessagesRead, s.BytesWritten, s.BytesRead, s.UsedBytes),
            Is.EqualTo(((long)written, (long)read, bytes, bytes, 0L)), "libpsyne's counters include the managed path's records");
    }

    /// <summary>Records reserved or read by one side's managed path and finished by libpsyne's calls on the same handle, and the reverse.</summary>
    [Test]
    public void ManagedAndNativeCallsInterleaveOnOneRing()
    {
        using Channel ch = Channel.Open(InprocUri("mix"), new ChannelOptions { Capacity = 8192 });
        psyne_channel* native = ch.Core.Ptr;
        for (ulong i = 0; i < 30_000; i++)
        {
            int size = SizeOf(i);
            bool nativeWrite = i % 3 == 1, nativeRead = i % 4 == 2;
            if (nativeWrite)
            {
                psyne_reservation r;
                Assert.That(PsyneNative.psyne_channel_try_reserve(native, (uint)size, 0, &r), Is.EqualTo(psyne_status.PSYNE_OK));
                FillAny(new Span<byte>(r.data, size), i);
                Assert.That(PsyneNative.psyne_channel_commit(native, &r, (uint)size, 3), Is.EqualTo(psyne_status.PSYNE_OK));
            }
            else
            {
                ChannelReservation r = ch.Reserve(size);
                FillAny(r.Span, i);
                r.Commit(type: 3);
            }
            if (nativeRead)
            {
                psyne_record rec;
                Assert.That(PsyneNative.psyne_channel_try_read(native, &rec), Is.EqualTo(psyne_status.PSYNE_OK));
                Assert.That(CheckAny(new ReadOnlySpan<byte>(rec.data, (int)rec.length), i), Is.True, $"record {i}");
                Assert.That(PsyneNative.psyne_channel_release(native, &rec), Is.EqualTo(psyne_status.PSYNE_OK));
            }
            else
            {
                using ChannelMessage m = ch.Read(TimeSpan.FromSeconds(5));
                Assert.That((m.Length, m.Type), Is.EqualTo((size, (ushort)3)));
                Assert.That(CheckAny(m.Payload, i), Is.True, $"record {i}");
            }
        }
        Assert.That(ch.GetStatistics().UsedBytes, Is.Zero);
    }

    [Test]
    public void MisuseStillGivesLibpsynesErrors()
    {
        using Channel ch = Channel.Open(InprocUri("misuse"));
        ChannelMessage m;
        Assert.That(ch.Write([1, 2, 3]), Is.True);
        Assert.That(ch.TryRead(out m), Is.True);
        m.Release();
        Assert.Throws<PsyneArgumentException>(() => m.Release(), "a second release");

        ChannelReservation r = ch.Reserve(16);
        r.Commit();
        try
        {
            r.Commit();
            Assert.Fail("a second commit must throw");
        }
        catch (PsyneArgumentException)
        {
        }

        // A short commit gives the rest back as padding (libpsyne's path); the reader never sees it.
        ChannelReservation big = ch.Reserve(100);
        big.Span[..5].Fill(9);
        big.Commit(5, type: 2);
        Assert.That(ch.TryRead(out m), Is.True);
        Assert.That((m.Length, m.Type), Is.EqualTo((16, (ushort)0)));
        m.Release();
        Assert.That(ch.TryRead(out m), Is.True);
        Assert.That((m.Length, m.Type, m.Payload[4]), Is.EqualTo((5, (ushort)2, (byte)9)));
        m.Release();
        Assert.That(ch.TryRead(out _), Is.False);

        ch.Complete();
        Assert.Throws<PsyneClosedException>(() => ch.TryReserve(8, out _), "a completed channel refuses reserves on the managed path too");
    }

    /// <summary>
    /// The fast commit takes only the latest reservation, once (it does not load the header slot);
    /// every other commit goes to libpsyne, which still orders them and reports misuse.
    /// </summary>
    [Test]
    public void OnlyTheLatestUnsettledReservationCommitsOnTheManagedPath()
    {
        using Channel ch = Channel.Open(InprocUri("settle"), new ChannelOptions { Capacity = 4096 });
        Assert.That(ch.Core.Fast, Is.True);

        // Two outstanding, committed newest first: the older one's commit goes through libpsyne.
        ChannelReservation first = ch.Reserve(8), second = ch.Reserve(8);
        second.Span.Fill(2);
        first.Span.Fill(1);
        second.Commit();
        Assert.That(ch.TryRead(out _), Is.False, "the older record is not committed yet, so nothing is readable");
        first.Commit();
        Assert.That(CommitThrows(first), Is.True, "a second commit of the older one");
        Assert.That(CommitThrows(second), Is.True, "a second commit of the newer one");
        foreach (byte expected in new byte[] { 1, 2 })
        {
            Assert.That(ch.TryRead(out ChannelMessage m), Is.True);
            Assert.That(m.Payload[0], Is.EqualTo(expected));
            m.Release();
        }

        // Settled through libpsyne (a short commit, an abort): the fast path refuses them afterwards.
        ChannelReservation shortOne = ch.Reserve(32);
        shortOne.Commit(4);
        Assert.That(CommitThrows(shortOne), Is.True, "a full commit after a short one");
        ChannelReservation aborted = ch.Reserve(32);
        aborted.Abort();
        Assert.That(CommitThrows(aborted), Is.True, "a commit after an abort");
        Assert.That(ch.TryRead(out ChannelMessage s), Is.True);
        Assert.That(s.Length, Is.EqualTo(4));
        s.Release();
        Assert.That(ch.TryRead(out _), Is.False, "the aborted record never appears");

        // And the stream goes on through many laps of the ring on the managed path.
        for (ulong i = 0; i < 2000; i++)
        {
            ChannelReservation r = ch.Reserve(64);
            SequencedPayload.Fill(r.Span, i);
            r.Commit();
            Assert.That(ch.TryRead(out ChannelMessage m), Is.True);
            Assert.That(SequencedPayload.Check(m.Payload, i), Is.True);
            m.Release();
        }
    }

    /// <summary>True when committing <paramref name="reservation"/> (again) is refused as libpsyne refuses it.</summary>
    private static bool CommitThrows(ChannelReservation reservation)
    {
        try
        {
            reservation.Commit();
            return false;
        }
        catch (PsyneArgumentException)
        {
            return true;
        }
    }

    /// <summary>
    /// Two threads bounce a record through two channels whose waits sleep at once, so every read
    /// sleeps on the futex and every managed commit must find the sleeper; a missed wake-up costs a
    /// whole wait slice (50 ms). The 4 KiB rings also fill, so producers sleep for space and the
    /// managed release must wake them. A scheduler delay of a whole slice is rare; a few are tolerated.
    /// </summary>
    [Test]
    public void SleepersAreWokenByTheManagedPath()
    {
        var sleepAtOnce = new ChannelOptions { Capacity = 4096, SpinCount = 0, YieldCount = 0 };
        using Channel ping = Channel.Open(InprocUri("ping"), sleepAtOnce);
        using Channel pong = Channel.Open(InprocUri("pong"), sleepAtOnce);
        Assert.That(ping.Core.Fast && pong.Core.Fast, Is.True);
        const int rounds = 2000;
        Exception? echoError = null;
        var echo = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < rounds; i++)
                {
                    using ChannelMessage m = ping.Read(TimeSpan.FromSeconds(10));
                    pong.Write(m.Payload);
                }
            }
            catch (Exception e)
            {
                echoError = e;
            }
        });
        echo.Start();
        int slow = 0;
        var clock = new Stopwatch();
        byte[] payload = new byte[24];
        for (int i = 0; i < rounds; i++)
        {
            clock.Restart();
            BinaryPrimitives.WriteInt32LittleEndian(payload, i);
            ping.Write(payload);
            using ChannelMessage m = pong.Read(TimeSpan.FromSeconds(10));
            Assert.That(BinaryPrimitives.ReadInt32LittleEndian(m.Payload), Is.EqualTo(i));
            if (clock.Elapsed >= TimeSpan.FromMilliseconds(40))
                slow++;
        }
        echo.Join();
        Assert.That(echoError, Is.Null);
        Assert.That(ping.GetStatistics().ConsumerStalls, Is.GreaterThan(0), "the reads slept");
        Assert.That(slow, Is.LessThanOrEqualTo(3), "round trips that waited a whole slice: missed wake-ups");

        // Space: a producer far ahead of a slow consumer sleeps on a full ring; each managed release must wake it.
        using Channel narrow = Channel.Open(InprocUri("narrow"), sleepAtOnce);
        const int records = 20_000;
        var writer = new Thread(() =>
        {
            for (ulong i = 0; i < records; i++)
            {
                ChannelReservation r = narrow.Reserve(200, TimeSpan.FromSeconds(10));
                FillAny(r.Span, i);
                r.Commit();
            }
        });
        writer.Start();
        for (ulong i = 0; i < records; i++)
        {
            using ChannelMessage m = narrow.Read(TimeSpan.FromSeconds(10));
            Assert.That(CheckAny(m.Payload, i), Is.True, $"record {i}");
        }
        writer.Join();
        Assert.That(narrow.GetStatistics().ProducerStalls, Is.GreaterThan(0), "the producer slept for space");
    }

    /// <summary>This process writes on the managed path; the reader in another process reads with libpsyne's calls only, and the reverse.</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void AnotherProcessOnLibpsynesPathInteroperates(bool thisProcessWrites)
    {
        const int count = 300_000;
        string uri = $"ipc://{UniqueName(thisProcessWrites ? "mw" : "mr")}";
        // A 64 KiB ring of 72-byte records: a lap ends in padding, and the ring wraps 330 times.
        var options = new ChannelOptions { Capacity = 1 << 16 };
        if (thisProcessWrites)
        {
            using Channel producer = Channel.Create(uri, options, ChannelRole.Producer);
            Assert.That(producer.Core.Fast, Is.True);
            using PeerProcess reader = PeerProcess.StartOnLibpsynesPath("read", uri);
            for (ulong i = 0; i < count; i++)
            {
                ChannelReservation r = producer.Reserve(64, TimeSpan.FromSeconds(30));
                Fill(r.Span, i);
                r.Commit();
            }
            producer.Dispose();
            reader.ExpectSummary($"read {count} errors 0 bytes {count * 64L}");
        }
        else
        {
            using Channel consumer = Channel.Create(uri, options, ChannelRole.Consumer);
            Assert.That(consumer.Core.Fast, Is.True);
            using PeerProcess writer = PeerProcess.StartOnLibpsynesPath("write", uri, "--count", count.ToString(CultureInfo.InvariantCulture), "--size", "64");
            for (int i = 0; i < count; i++)
            {
                using ChannelMessage m = consumer.Read(TimeSpan.FromSeconds(30));
                if (m.Length != 64 || !Check(m.Payload, (ulong)i))
                    Assert.Fail($"message {i} is wrong: {m.Length} bytes");
            }
            Assert.Throws<PsyneClosedException>(() => consumer.Read(TimeSpan.FromSeconds(30)));
            writer.ExpectSummary($"wrote {count}");
        }
    }

    private static int SizeOf(ulong sequence) => sequence % 7 == 3 ? 0 : (int)(sequence * 37 % 301);

    /// <summary>
    /// The managed spin before libpsyne's wait: a producer that finds the ring full prefers to wait
    /// for a quarter of it, but a consumer holding records (releasing one now and then) must not
    /// hold it up until the spin runs out; and a reader that found the ring empty still sees the
    /// next record. The spin budget (about a minute of pauses) outlasts the test, so a wait for the
    /// quarter, or a spin that ignores a timeout or a cancellation, would show.
    /// </summary>
    [Test]
    public void SpinningProducerTakesTheRoomAConsumerHoldingRecordsGives()
    {
        var longSpin = new ChannelOptions { Capacity = 4096, SpinCount = 2_000_000_000, WaitPolicy = WaitPolicy.SpinYieldFutex };
        using Channel channel = Channel.Open(InprocUri("holding"), longSpin);
        Assert.That(channel.Core.Fast, Is.True);
        var held = new List<ChannelMessage>();
        ulong written = 0;
        while (channel.TryReserve(120, out ChannelReservation r))
        {
            FillAny(r.Span, written++);
            r.Commit();
        }
        for (ulong i = 0; i < written; i++)
        {
            Assert.That(channel.TryRead(out ChannelMessage m), Is.True);
            Assert.That(CheckAny(m.Payload, i), Is.True, $"record {i}");
            held.Add(m);
        }
        // The consumer releases the oldest record once the producer is blocked; it keeps the rest.
        var clock = Stopwatch.StartNew();
        var releaser = new Thread(() =>
        {
            Thread.Sleep(50);
            held[0].Release();
        });
        releaser.Start();
        ChannelReservation next = channel.Reserve(120, TimeSpan.FromSeconds(10));
        TimeSpan waited = clock.Elapsed;
        FillAny(next.Span, written);
        next.Commit();
        releaser.Join();
        Assert.That(waited, Is.LessThan(TimeSpan.FromSeconds(2)), "the producer waited for more room than one released record");
        foreach (ChannelMessage m in held.Skip(1))
            m.Release();
        // A reader spinning on the empty ring (the growing pauses) still takes each record, in order.
        ulong expected = 1;
        var writer = new Thread(() =>
        {
            for (ulong i = written + 1; i < written + 2001; i++)
            {
                if (i % 100 == 0)
                    Thread.Sleep(1); // leave the ring empty now and then
                ChannelReservation r = channel.Reserve(120, TimeSpan.FromSeconds(10));
                FillAny(r.Span, i);
                r.Commit();
            }
        });
        writer.Start();
        for (ulong i = written; i < written + 2001; i++)
        {
            using ChannelMessage m = channel.Read(TimeSpan.FromSeconds(10));
            Assert.That(CheckAny(m.Payload, i), Is.True, $"record {i}");
            expected++;
        }
        writer.Join();
        Assert.That(expected, Is.EqualTo(2002UL));

        // The spin keeps the caller's timeout and token.
        clock.Restart();
        Assert.Throws<PsyneTimeoutException>(() => channel.Read(TimeSpan.FromMilliseconds(50)));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.Throws<OperationCanceledException>(() => channel.Read(Timeout.InfiniteTimeSpan, cancel.Token));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }
}
