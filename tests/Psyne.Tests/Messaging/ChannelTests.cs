using System.Diagnostics.Metrics;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

public class ChannelTests
{
    private static readonly ChannelOptions Small = new() { Capacity = 4096 };

    private static string Uri(string transport, string label) => $"{transport}://{UniqueName(label)}";

    [TestCase("inproc")]
    [TestCase("ipc")]
    public void ReserveCommitReadRelease(string transport)
    {
        using Channel ch = Channel.Create(Uri(transport, "basic"), Small);
        Assert.That(ch.Transport, Is.EqualTo(transport == "ipc" ? ChannelTransport.Ipc : ChannelTransport.InProcess));
        Assert.That(ch.Capacity, Is.EqualTo(4096));
        Assert.That(ch.MaxPayload, Is.EqualTo(4096 - 16));

        ChannelReservation r = ch.Reserve(100);
        Assert.That(r.Length, Is.EqualTo(100));
        Fill(r.Span, 7);
        r.Commit(40, type: 3); // commit short: the rest is given back

        Assert.That(ch.TryRead(out ChannelMessage m), Is.True);
        Assert.That(m.Length, Is.EqualTo(40));
        Assert.That(m.Type, Is.EqualTo(3));
        Assert.That(Check(m.Payload, 7), Is.True);
        m.Release();
        Assert.That(ch.TryRead(out _), Is.False);

        ChannelStatistics s = ch.GetStatistics();
        Assert.That((s.MessagesWritten, s.BytesWritten, s.MessagesRead, s.UsedBytes), Is.EqualTo((1L, 40L, 1L, 0L)));
        Assert.That(ch.State, Is.EqualTo(ChannelState.Open));
    }

    [Test]
    public void PayloadsAreAlignedAsAsked()
    {
        using Channel ch = Channel.Create(Uri("inproc", "align"), Small);
        foreach (int alignment in new[] { 8, 16, 64, 256, 1024 })
        {
            ChannelReservation r = ch.Reserve(24, alignment);
            unsafe
            {
                fixed (byte* p = r.Span)
                    Assert.That((long)p % alignment, Is.Zero, $"alignment {alignment}");
            }
            r.Commit();
            ch.Read().Release();
        }
    }

    [Test]
    public void TypedValuesRoundTrip()
    {
        using Channel ch = Channel.Create(Uri("inproc", "typed"), Small);
        Assert.That(ch.Write((Guid.Empty, 42L)), Is.True);
        Assert.That(ch.TryWrite(3.5), Is.True);
        Assert.That(ch.Read<(Guid, long)>(), Is.EqualTo((Guid.Empty, 42L)));
        Assert.That(ch.TryRead(out double d) && d == 3.5, Is.True);
        Assert.That(ch.TryRead(out double _), Is.False);

        Assert.That(ch.WriteBatch<int>([1, 2, 3, 4, 5]), Is.EqualTo(5));
        Span<int> got = stackalloc int[8];
        Assert.That(ch.TryReadBatch(got), Is.EqualTo(5));
        Assert.That(got[..5].ToArray(), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public void ReadingAValueOfTheWrongSizeIsAFormatErrorAndReleasesIt()
    {
        using Channel ch = Channel.Create(Uri("inproc", "wrongsize"), Small);
        ch.Write(1L);
        var e = Assert.Throws<PsyneFormatException>(() => ch.TryRead(out int _))!;
        Assert.That(e.Message, Does.Contain("8 bytes").And.Contain("Int32"));
        Assert.That(ch.GetStatistics().UsedBytes, Is.Zero, "the record was released");
    }

    [Test]
    public void SameInprocNameIsTheSameRingAndJobsDoesNotSeeJobs2()
    {
        string jobs = UniqueName("jobs");
        using Channel a = Channel.Open($"inproc://{jobs}", Small);
        using Channel b = Channel.Open($"inproc://{jobs}");
        using Channel c = Channel.Open($"inproc://{jobs}2", Small);
        a.Write(1);
        c.Write(2);
        Assert.That(b.Read<int>(), Is.EqualTo(1), "a second open of a name is the same ring");
        Assert.That(b.TryRead(out int _), Is.False, "jobs2's message is not in jobs");
        Assert.That(c.Read<int>(), Is.EqualTo(2));
        Assert.That(c.TryRead(out int _), Is.False);
    }

    [Test]
    public void IpcJobsAndJobs2DoNotInterfere()
    {
        string jobs = UniqueName("jobs");
        using Channel a = Channel.Create($"ipc://{jobs}", Small);
        using Channel c = Channel.Create($"ipc://{jobs}2", Small);
        for (int i = 0; i < 100; i++)
        {
            a.Write(i);
            c.Write(-i);
        }
        for (int i = 0; i < 100; i++)
        {
            Assert.That(a.Read<int>(), Is.EqualTo(i));
            Assert.That(c.Read<int>(), Is.EqualTo(-i));
        }
        Assert.That(a.TryRead(out int _) || c.TryRead(out int _), Is.False);
    }

    [Test]
    public void OpenModesAndOptionChecks()
    {
        foreach (string transport in new[] { "inproc", "ipc" })
        {
            // MPMC: on ipc a single-producer or single-consumer side takes one handle only.
            string uri = Uri(transport, "modes");
            ChannelOptions mpmc = Small with { Kind = ChannelKind.Mpmc };
            Assert.Throws<PsyneNotFoundException>(() => Channel.OpenExisting(uri));
            using Channel first = Channel.Create(uri, mpmc);
            Assert.Throws<PsyneArgumentException>(() => Channel.Create(uri, mpmc), transport);
            using Channel second = Channel.Open(uri, mpmc);
            using Channel third = Channel.Open(uri);
            var e = Assert.Throws<PsyneArgumentException>(() => Channel.Open(uri, Small))!;
            Assert.That(e.Message, Does.Contain("Spsc").And.Contain("Mpmc"));
            Assert.Throws<PsyneArgumentException>(() => Channel.Open(uri, mpmc with { Capacity = 8192 }));
            first.Write(5);
            Assert.That(third.Read<int>(), Is.EqualTo(5));
        }
    }

    [TestCase(3000L)]
    [TestCase(1L << 31)]
    [TestCase(1024L)]
    public void BadCapacityIsATypedError(long capacity)
    {
        var e = Assert.Throws<PsyneArgumentException>(() => Channel.Create(Uri("inproc", "cap"), new ChannelOptions { Capacity = capacity }))!;
        Assert.That(e.Message, Does.Contain("power of two"));
    }

    [Test]
    public void BadInputsAreTypedErrors()
    {
        using Channel ch = Channel.Create(Uri("inproc", "bad"), Small);
        var big = Assert.Throws<PsyneArgumentException>(() => ch.Reserve(5000))!;
        Assert.That(big.Message, Does.Contain("5000").And.Contain("4096"));
        Assert.Throws<PsyneArgumentException>(() => ch.TryReserve(ch.MaxPayload + 1, out _));
        Assert.Throws<PsyneArgumentException>(() => ch.Reserve(8, alignment: 3));
        Assert.Throws<PsyneArgumentException>(() => ch.Reserve(8, alignment: 2048));
        Assert.Throws<ArgumentOutOfRangeException>(() => ch.Reserve(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ch.Reserve(8, TimeSpan.FromSeconds(-2)));

        ChannelReservation r = ch.Reserve(8);
        Exception? tooLong = null, twice = null;
        try
        {
            r.Commit(9);
        }
        catch (ArgumentOutOfRangeException e)
        {
            tooLong = e;
        }
        r.Commit();
        try
        {
            r.Commit();
        }
        catch (PsyneArgumentException e)
        {
            twice = e;
        }
        Assert.That(tooLong, Is.Not.Null, "a commit longer than the reservation");
        Assert.That(twice?.Message, Does.Contain("already committed"));

        ChannelMessage m = ch.Read();
        m.Release();
        Assert.Throws<PsyneArgumentException>(() => m.Release());
        Assert.Throws<InvalidOperationException>(() => default(ChannelReservation).Commit());
        Assert.Throws<InvalidOperationException>(() => default(ChannelMessage).Release());
    }

    [Test]
    public void UseAfterDisposeIsObjectDisposed()
    {
        Channel ch = Channel.Create(Uri("inproc", "disposed"), Small);
        ch.Write(5);
        ChannelMessage m = ch.Read();
        ch.Dispose();
        ch.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => ch.Reserve(8));
        Assert.Throws<ObjectDisposedException>(() => ch.TryRead(out _));
        Assert.Throws<ObjectDisposedException>(() => ch.GetStatistics());
        Assert.Throws<ObjectDisposedException>(() => _ = m.Payload.Length);
        Assert.Throws<ObjectDisposedException>(() => m.Release());
    }

    [Test]
    public void RolesAreEnforced()
    {
        string uri = Uri("inproc", "roles");
        using Channel producer = Channel.Open(uri, Small, ChannelRole.Producer);
        using Channel consumer = Channel.Open(uri, Small, ChannelRole.Consumer);
        Assert.Throws<InvalidOperationException>(() => producer.TryRead(out _));
        Assert.Throws<InvalidOperationException>(() => consumer.Reserve(8));
        producer.Write(9);
        Assert.That(consumer.Read<int>(), Is.EqualTo(9));
    }

    [Test]
    public void LastInprocProducerLeavingClosesAfterDrainAndLastConsumerLeavingFailsProducers()
    {
        string uri = Uri("inproc", "leave");
        Channel producer = Channel.Open(uri, Small, ChannelRole.Producer);
        using Channel consumer = Channel.Open(uri, Small, ChannelRole.Consumer);
        producer.Write(1);
        producer.Write(2);
        producer.Dispose();
        Assert.That(consumer.Read<int>(), Is.EqualTo(1));
        Assert.That(consumer.Read<int>(), Is.EqualTo(2));
        Assert.Throws<PsyneClosedException>(() => consumer.Read(TimeSpan.FromSeconds(5)));

        string uri2 = Uri("inproc", "leave2");
        using Channel p2 = Channel.Open(uri2, Small, ChannelRole.Producer);
        Channel c2 = Channel.Open(uri2, Small, ChannelRole.Consumer);
        while (p2.TryWrite(0L))
        {
        }
        Task blocked = Task.Run(() => p2.Reserve(8));
        Thread.Sleep(100);
        c2.Dispose();
        Assert.That(() => blocked.Wait(TimeSpan.FromSeconds(10)), Throws.InstanceOf<AggregateException>()
            .With.InnerException.InstanceOf<PsyneClosedException>());
        Assert.Throws<PsyneClosedException>(() => p2.TryReserve(8, out _));
    }

    [Test]
    public void CompleteLetsConsumersDrainThenClosed()
    {
        using Channel ch = Channel.Create(Uri("inproc", "complete"), Small);
        ch.Write(1);
        ch.Complete();
        Assert.Throws<PsyneClosedException>(() => ch.Write(2));
        Assert.That(ch.Read<int>(), Is.EqualTo(1));
        Assert.Throws<PsyneClosedException>(() => ch.TryRead(out _));
        Assert.That(ch.State, Is.EqualTo(ChannelState.Closed));
    }

    [Test]
    public void BlockTimesOutWithPsyneTimeoutException()
    {
        using Channel ch = Channel.Create(Uri("inproc", "block"), Small);
        while (ch.TryReserve(64, out ChannelReservation r))
            r.Commit();
        Assert.That(ch.TryReserve(64, out _), Is.False);
        var e = Assert.Throws<PsyneTimeoutException>(() => ch.Reserve(64, TimeSpan.FromMilliseconds(100)))!;
        Assert.That(e.Message, Does.Contain("64-byte").And.Contain("100 ms"));
        Assert.Throws<PsyneTimeoutException>(() => ch.Reserve(64, TimeSpan.Zero));

        while (ch.TryRead(out ChannelMessage m))
            m.Release();
        Assert.That(ch.Reserve(64, TimeSpan.FromSeconds(5)).Length, Is.EqualTo(64), "room again after the releases");
    }

    [Test]
    public void ReadTimesOutWithPsyneTimeoutException()
    {
        using Channel ch = Channel.Create(Uri("ipc", "readtimeout"), Small);
        Assert.Throws<PsyneTimeoutException>(() => ch.Read(TimeSpan.FromMilliseconds(50)));
        Assert.Throws<PsyneTimeoutException>(() => ch.ReadTensor(TimeSpan.FromMilliseconds(10)));
    }

    [Test]
    public void DropPolicyCountsAndSendsNothing()
    {
        using Channel ch = Channel.Create(Uri("inproc", "drop"), Small with { FullPolicy = FullPolicy.Drop });
        int sent = 0;
        for (int i = 0; i < 200; i++)
        {
            ChannelReservation r = ch.Reserve(64);
            Fill(r.Span, (ulong)i); // the same code whether or not the record is dropped
            r.Commit();
            sent += r.IsDropped ? 0 : 1;
        }
        Assert.That(ch.Write(new byte[64]), Is.False);
        ChannelStatistics s = ch.GetStatistics();
        Assert.That(s.Drops, Is.EqualTo(200 - sent + 1));
        Assert.That(s.MessagesWritten, Is.EqualTo(sent));
        for (int i = 0; i < sent; i++)
        {
            using ChannelMessage m = ch.Read();
            Assert.That(Check(m.Payload, (ulong)i), Is.True);
        }
        Assert.That(ch.TryRead(out _), Is.False);
    }

    [Test]
    public void FailPolicyThrowsFull()
    {
        using Channel ch = Channel.Create(Uri("ipc", "fail"), Small with { FullPolicy = FullPolicy.Fail });
        while (ch.TryWrite(new byte[64]))
        {
        }
        var e = Assert.Throws<PsyneFullException>(() => ch.Reserve(64))!;
        Assert.That(e.Message, Does.Contain("full"));
        Assert.That(ch.GetStatistics().Rejects, Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public async Task ReadAsyncCompletesWhenWrittenAndHonoursCancellation()
    {
        using Channel ch = Channel.Create(Uri("inproc", "async"), Small);
        ValueTask<ChannelMessage> pending = ch.ReadAsync();
        Assert.That(pending.IsCompleted, Is.False);
        ch.Write(11);
        using (ChannelMessage m = await pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10)))
            Assert.That(m.Read<int>(), Is.EqualTo(11));

        ch.Write(12);
        ValueTask<ChannelMessage> ready = ch.ReadAsync();
        Assert.That(ready.IsCompletedSuccessfully, Is.True, "a ready record completes synchronously");
        ready.Result.Release();

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        // A broken cancellation would wait for ever: the WaitAsync turns that into a TimeoutException.
        Assert.That(async () => await ch.ReadAsync(cts.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(60)),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(async () => await ch.ReadAsync(new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());

        ch.Write(13);
        using (ChannelMessage m = await ch.ReadAsync())
            Assert.That(m.Read<int>(), Is.EqualTo(13), "the channel still works after a cancelled read");
    }

    [Test]
    public void BlockedReserveHonoursCancellation()
    {
        using Channel ch = Channel.Create(Uri("ipc", "cancel"), Small);
        while (ch.TryWrite(new byte[100]))
        {
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        Assert.That(() => ch.Reserve(100, Timeout.InfiniteTimeSpan, cts.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void DisposeWakesABlockedRead()
    {
        Channel ch = Channel.Create(Uri("inproc", "wake"), Small);
        Task<ChannelMessage> blocked = Task.Run(() => ch.Read());
        Thread.Sleep(100);
        ch.Dispose();
        Assert.That(() => blocked.Wait(TimeSpan.FromSeconds(10)), Throws.InstanceOf<AggregateException>()
            .With.InnerException.InstanceOf<ObjectDisposedException>().Or.InnerException.InstanceOf<PsyneClosedException>());
    }

    [Test]
    public void MessagesMayBeReleasedOutOfOrder()
    {
        using Channel ch = Channel.Create(Uri("inproc", "ooo"), Small);
        for (int i = 0; i < 3; i++)
            ch.Write(i);
        ChannelMessage a = ch.Read(), b = ch.Read(), c = ch.Read();
        c.Release();
        a.Release();
        Assert.That(b.Read<int>(), Is.EqualTo(1));
        b.Release();
        Assert.That(ch.GetStatistics().UsedBytes, Is.Zero);
    }

    [Test]
    public void SyncPathsAllocateNothingPerMessage()
    {
        using Channel ch = Channel.Create(Uri("inproc", "alloc"), new ChannelOptions { Capacity = 1 << 16 });
        nint[] shape = [4, 8];
        void Loop(int n)
        {
            for (int i = 0; i < n; i++)
            {
                ChannelReservation r = ch.Reserve(64);
                r.Span[0] = 1;
                r.Commit();
                ch.TryRead(out ChannelMessage m);
                m.Release();

                ch.Write(in i);
                ch.TryRead(out int _);
                ch.TryWrite(1.0);
                ch.Read<double>(TimeSpan.FromSeconds(1));

                TensorReservation<float> t = ch.ReserveTensor<float>(shape);
                t.Data[0] = i;
                t.Commit();
                using TensorMessage tm = ch.ReadTensor();
                float sum = tm.GetData<float>()[0] + tm.AsReadOnlyTensorSpan<float>()[0, 0];
                if (sum < 0)
                    throw new InvalidOperationException();
            }
        }
        Loop(1000); // warm up: JIT tiers, the thread's last-error buffer
        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(10_000);
        long first = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        Loop(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        TestContext.Out.WriteLine($"first 10 000 rounds: {first} bytes; next 10 000: {allocated} bytes");
        Assert.That(allocated, Is.Zero, $"{allocated} bytes for 10 000 rounds");
    }

    [Test]
    public void MeterPsyneObservesLiveChannels()
    {
        string uri = Uri("inproc", "metrics");
        using Channel ch = Channel.Create(uri, Small);
        for (int i = 0; i < 5; i++)
            ch.Write(i);
        ch.Read().Release();

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Psyne")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? channel = null, detail = "";
            foreach (var tag in tags)
            {
                if (tag.Key == "psyne.channel")
                    channel = (string?)tag.Value;
                else
                    detail = $"/{tag.Value}";
            }
            if (channel == uri)
                seen[instrument.Name + detail] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.That(seen["psyne.channel.messages/written"], Is.EqualTo(5));
        Assert.That(seen["psyne.channel.messages/read"], Is.EqualTo(1));
        Assert.That(seen["psyne.channel.bytes/written"], Is.EqualTo(20));
        Assert.That(seen["psyne.channel.drops/drop"], Is.Zero);
        Assert.That(seen, Does.ContainKey("psyne.channel.stalls/producer"));
        Assert.That(seen["psyne.channel.used"], Is.GreaterThan(0));
    }
}
