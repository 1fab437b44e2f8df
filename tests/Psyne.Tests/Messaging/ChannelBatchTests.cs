using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// WriteBatch and TryReadBatch on SPSC rings, whose common case runs in managed code
/// (ChannelCore.Batch.cs) and hands padding, held records and odd sizes to libpsyne: mixed with
/// single-record calls and libpsyne's own calls, across wraps, across threads and processes.
/// </summary>
[NonParallelizable]
public unsafe class ChannelBatchTests
{
    /// <summary>12 bytes, so that a lap of a 4 KiB ring (24-byte records) ends in padding.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Item
    {
        public long Sequence;
        public int Check;

        public static Item For(long sequence) => new() { Sequence = sequence, Check = (int)(sequence * 2654435761) ^ 0x5EED };

        public readonly bool IsFor(long sequence) => Sequence == sequence && Check == For(sequence).Check;
    }

    /// <summary>A 64-byte record carrying ChannelTestSupport's pattern, as the peer process writes and checks.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Block
    {
        private long _first;

        public static Block For(ulong sequence)
        {
            Block b = default;
            Fill(MemoryMarshal.AsBytes(new Span<Block>(ref b)), sequence);
            return b;
        }

        public readonly bool IsFor(ulong sequence) =>
            Check(MemoryMarshal.AsBytes(new ReadOnlySpan<Block>(in this)), sequence);
    }

    [Test]
    public void BatchesWrapAndMixWithSingleAndNativeCallsAcrossThreads()
    {
        const long count = 400_000;
        using Channel ch = Channel.Open($"inproc://{UniqueName("batch-mix")}", new ChannelOptions { Capacity = 4096 });
        Assert.That(ch.Core.Fast, Is.True);
        psyne_channel* native = ch.Core.Ptr;
        long errors = 0, received = 0;
        Exception? failure = null;
        var consumer = new Thread(() =>
        {
            try
            {
                Consume();
            }
            catch (Exception e)
            {
                failure = e; // fails the test below, instead of the test host
                StopBoth(ch);
            }
        });
        void Consume()
        {
            var random = new Random(11);
            var into = new Item[150];
            long next = 0;
            while (next < count)
            {
                switch (random.Next(5))
                {
                    case 0: // one record through libpsyne
                        psyne_record rec;
                        if (PsyneNative.psyne_channel_try_read(native, &rec) != psyne_status.PSYNE_OK)
                            break;
                        if (rec.length != sizeof(Item) || !(*(Item*)rec.data).IsFor(next++))
                            Interlocked.Increment(ref errors);
                        PsyneNative.psyne_channel_release(native, &rec);
                        break;
                    case 1: // one value, blocking
                        if (!ch.Read<Item>(TimeSpan.FromSeconds(30)).IsFor(next++))
                            Interlocked.Increment(ref errors);
                        break;
                    case 2: // a record held across a batch: libpsyne's release keeps them in order
                        if (!ch.TryRead(out ChannelMessage held))
                            break;
                        if (!held.Read<Item>().IsFor(next++))
                            Interlocked.Increment(ref errors);
                        next += Take(ch, into.AsSpan(0, random.Next(1, into.Length)), next, ref errors);
                        held.Release();
                        break;
                    default:
                        next += Take(ch, into.AsSpan(0, random.Next(1, into.Length)), next, ref errors);
                        break;
                }
                Volatile.Write(ref received, next);
            }
        }
        consumer.Start();

        try
        {
            var random = new Random(5);
            var batch = new Item[200];
            for (long sequence = 0; sequence < count;)
            {
                int n = (int)Math.Min(count - sequence, random.Next(1, batch.Length));
                switch (random.Next(4))
                {
                    case 0:
                        Assert.That(ch.Write(Item.For(sequence++)), Is.True);
                        break;
                    case 1: // libpsyne's own single write
                        psyne_reservation r;
                        while (PsyneNative.psyne_channel_try_reserve(native, (uint)sizeof(Item), 0, &r) != psyne_status.PSYNE_OK)
                            Thread.Yield();
                        *(Item*)r.data = Item.For(sequence++);
                        Assert.That(PsyneNative.psyne_channel_commit(native, &r, (uint)sizeof(Item), 0), Is.EqualTo(psyne_status.PSYNE_OK));
                        break;
                    default: // batches larger than the ring's free room, split at wraps
                        for (int i = 0; i < n; i++)
                            batch[i] = Item.For(sequence + i);
                        Assert.That(ch.WriteBatch<Item>(batch.AsSpan(0, n)), Is.EqualTo(n));
                        sequence += n;
                        break;
                }
            }
        }
        catch
        {
            StopBoth(ch); // the producer failed: the consumer stops now
            throw;
        }
        finally
        {
            // Whatever failed, the consumer stops before the channel is disposed under it.
            if (!consumer.Join(TimeSpan.FromSeconds(60)))
            {
                StopBoth(ch);
                consumer.Join();
            }
        }
        Assert.That(Volatile.Read(ref received), Is.EqualTo(count), "the consumer stopped early");
        Assert.That(failure, Is.Null, $"the consumer failed at {Volatile.Read(ref received)} of {count}");
        Assert.That(errors, Is.Zero);
        ChannelStatistics stats = ch.GetStatistics();
        Assert.That((stats.MessagesWritten, stats.MessagesRead, stats.UsedBytes), Is.EqualTo((count, count, 0L)));
        Assert.That(stats.BytesRead, Is.EqualTo(count * sizeof(Item)));
    }

    /// <summary>Shuts the channel down, so that a side blocked on it (or waiting for records that will not come) stops with PsyneClosedException.</summary>
    private static void StopBoth(Channel ch)
    {
        try
        {
            ch.Complete();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>TryReadBatch of up to destination.Length values, checked against the sequence from <paramref name="next"/>.</summary>
    private static int Take(Channel ch, Span<Item> into, long next, ref long errors)
    {
        int n = ch.TryReadBatch(into);
        for (int i = 0; i < n; i++)
        {
            if (!into[i].IsFor(next + i))
                Interlocked.Increment(ref errors);
        }
        return n;
    }

    [Test]
    public void ABatchStopsAtARecordOfAnotherSize()
    {
        using Channel ch = Channel.Open($"inproc://{UniqueName("batch-size")}");
        Assert.That(ch.WriteBatch<long>([1, 2, 3]), Is.EqualTo(3));
        Assert.That(ch.Write(7), Is.True); // 4 bytes
        Assert.That(ch.WriteBatch<long>([4]), Is.EqualTo(1));
        var into = new long[8];
        Assert.That(ch.TryReadBatch<long>(into.AsSpan(0, 2)), Is.EqualTo(2), "no more than the destination holds");
        Assert.That(into[..2], Is.EqualTo(new long[] { 1, 2 }));
        // The pass returns what it read before the int; the next call meets the int and raises
        // the error for it alone, so nothing before or after it is lost.
        Assert.That(ch.TryReadBatch<long>(into), Is.EqualTo(1));
        Assert.That(into[0], Is.EqualTo(3));
        var e = Assert.Throws<PsyneFormatException>(() => ch.TryReadBatch<long>(into));
        Assert.That(e!.Message, Does.Contain("4 bytes").And.Contain("Int64"));
        Assert.That(ch.TryReadBatch<long>(into), Is.EqualTo(1));
        Assert.That(into[0], Is.EqualTo(4));
        Assert.That(ch.TryReadBatch<long>(into), Is.Zero, "empty");
    }

    /// <summary>
    /// Waits that sleep at once: a reader asleep on an empty ring must be woken by a managed batch
    /// write, and a writer asleep on a full ring by a managed batch read. A missed wake-up costs a
    /// whole wait slice (50 ms); a few scheduler delays that long are tolerated.
    /// </summary>
    [Test]
    public void SleepersAreWokenByManagedBatches()
    {
        var sleepAtOnce = new ChannelOptions { Capacity = 4096, SpinCount = 0, YieldCount = 0 };
        using Channel ping = Channel.Open($"inproc://{UniqueName("bping")}", sleepAtOnce);
        using Channel pong = Channel.Open($"inproc://{UniqueName("bpong")}", sleepAtOnce);
        Assert.That(ping.Core.Fast && pong.Core.Fast, Is.True);
        const int rounds = 1000;
        Exception? echoError = null;
        var echo = new Thread(() =>
        {
            try
            {
                var got = new long[4];
                for (int i = 0; i < rounds; i++)
                {
                    got[0] = ping.Read<long>(TimeSpan.FromSeconds(10)); // sleeps; woken by WriteBatch
                    pong.WriteBatch<long>(got.AsSpan(0, 1));
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
        for (long i = 0; i < rounds; i++)
        {
            clock.Restart();
            ping.WriteBatch<long>([i]);
            Assert.That(pong.Read<long>(TimeSpan.FromSeconds(10)), Is.EqualTo(i));
            if (clock.Elapsed >= TimeSpan.FromMilliseconds(40))
                slow++;
        }
        echo.Join();
        Assert.That(echoError, Is.Null);
        Assert.That(ping.GetStatistics().ConsumerStalls, Is.GreaterThan(0), "the reads slept");
        Assert.That(slow, Is.LessThanOrEqualTo(3), "round trips that waited a whole slice: missed wake-ups");

        // Space: the writer runs far ahead and sleeps on the full ring; each batch read must wake it.
        using Channel narrow = Channel.Open($"inproc://{UniqueName("bnarrow")}", sleepAtOnce);
        const int records = 50_000;
        int slowWrites = 0;
        var writer = new Thread(() =>
        {
            var batch = new long[50];
            var writeClock = new Stopwatch();
            for (long sent = 0; sent < records; sent += batch.Length)
            {
                for (int i = 0; i < batch.Length; i++)
                    batch[i] = sent + i;
                writeClock.Restart();
                narrow.WriteBatch<long>(batch);
                if (writeClock.Elapsed >= TimeSpan.FromMilliseconds(40))
                    slowWrites++;
            }
        });
        writer.Start();
        var into = new long[16];
        var wait = Stopwatch.StartNew();
        for (long next = 0; next < records;)
        {
            int n = narrow.TryReadBatch<long>(into);
            for (int i = 0; i < n; i++, next++)
                Assert.That(into[i], Is.EqualTo(next));
            if (n == 0)
            {
                Assert.That(wait.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "the writer stopped");
                Thread.Sleep(1); // let the writer fill the ring and go to sleep
            }
        }
        writer.Join();
        Assert.That(narrow.GetStatistics().ProducerStalls, Is.GreaterThan(0), "the producer slept for space");
        Assert.That(slowWrites, Is.LessThanOrEqualTo(3), "batch writes that waited a whole slice: missed wake-ups");
    }

    [Test]
    public void ADrainedCompletedChannelSaysClosed()
    {
        using Channel ch = Channel.Open($"inproc://{UniqueName("batch-closed")}");
        Assert.That(ch.WriteBatch<long>([1, 2]), Is.EqualTo(2));
        ch.Complete();
        var into = new long[4];
        Assert.That(ch.TryReadBatch<long>(into), Is.EqualTo(2), "what was committed is delivered");
        Assert.Throws<PsyneClosedException>(() => ch.TryReadBatch<long>(into));
        Assert.Throws<PsyneClosedException>(() => ch.WriteBatch<long>([3]));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void BatchesInteroperateWithAProcessOnLibpsynesPath(bool thisProcessWrites)
    {
        const int count = 200_000;
        string uri = $"ipc://{UniqueName(thisProcessWrites ? "bw" : "br")}";
        var options = new ChannelOptions { Capacity = 1 << 16 };
        if (thisProcessWrites)
        {
            using Channel producer = Channel.Create(uri, options, ChannelRole.Producer);
            using PeerProcess reader = PeerProcess.StartOnLibpsynesPath("read", uri);
            var batch = new Block[100];
            for (int sent = 0; sent < count; sent += batch.Length)
            {
                for (int i = 0; i < batch.Length; i++)
                    batch[i] = Block.For((ulong)(sent + i));
                Assert.That(producer.WriteBatch<Block>(batch), Is.EqualTo(batch.Length));
            }
            producer.Dispose();
            reader.ExpectSummary($"read {count} errors 0 bytes {count * 64L}");
        }
        else
        {
            using Channel consumer = Channel.Create(uri, options, ChannelRole.Consumer);
            using PeerProcess writer = PeerProcess.StartOnLibpsynesPath("write", uri, "--count", count.ToString(CultureInfo.InvariantCulture), "--size", "64");
            var into = new Block[64];
            int received = 0;
            while (received < count)
            {
                int n = consumer.TryReadBatch<Block>(into);
                if (n == 0)
                {
                    into[0] = consumer.Read<Block>(TimeSpan.FromSeconds(30));
                    n = 1;
                }
                for (int i = 0; i < n; i++, received++)
                {
                    if (!into[i].IsFor((ulong)received))
                        Assert.Fail($"message {received} is wrong");
                }
            }
            writer.ExpectSummary($"wrote {count}");
        }
    }
}
