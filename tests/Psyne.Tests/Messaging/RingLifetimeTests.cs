using System.Runtime.CompilerServices;
using Psyne.Benchmarks.Peers;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// An inproc channel's ring memory belongs to the managed core (RingMemory), so the common case of
/// each call runs without marking itself in flight. These tests check the two sides of that: a
/// Dispose racing running calls never lets one touch freed memory or end in anything but the
/// documented exceptions, and the memory of channels nobody can reach any more is freed.
/// </summary>
[NonParallelizable]
public class RingLifetimeTests
{
    [Test]
    public void SpscCoresOwnTheirRingOrMapping()
    {
        using Channel inproc = Channel.Open($"inproc://{UniqueName("owns")}");
        Assert.That(inproc.Core.OwnsRing, Is.True);
        string uri = $"ipc://{UniqueName("owns")}";
        using Channel ipc = Channel.Create(uri, new ChannelOptions(), ChannelRole.Producer);
        Assert.That(ipc.Core.Fast, Is.True);
        Assert.That(ipc.Core.OwnsRing, Is.True, "an ipc handle's mapping is taken too: close detaches, the finalizer unmaps");
        using Channel mpsc = Channel.Create($"ipc://{UniqueName("owns-mpsc")}", new ChannelOptions { Kind = ChannelKind.Mpsc }, ChannelRole.Producer);
        Assert.That(mpsc.Core.OwnsRing, Is.False, "other kinds stay on libpsyne's calls");
    }

    /// <summary>
    /// A producer and a consumer run flat out on a small ring while another thread disposes the
    /// channel, 40 times at different moments. Each side must stop with ObjectDisposedException or
    /// PsyneClosedException, and every record it read before must be intact and in order.
    /// </summary>
    [TestCase("inproc")]
    [TestCase("ipc")]
    public void DisposeRacingBothSidesEndsEachWithADocumentedException(string transport)
    {
        for (int round = 0; round < 40; round++)
        {
            var channel = Channel.Open($"{transport}://{UniqueName("race")}", new ChannelOptions { Capacity = 4096 });
            Assert.That(channel.Core.OwnsRing, Is.True);
            Exception? producerEnd = null, consumerEnd = null;
            long badRecords = 0, read = 0;
            var producer = new Thread(() =>
            {
                try
                {
                    for (ulong sequence = 0; ; sequence++)
                    {
                        ChannelReservation r = channel.Reserve(64);
                        SequencedPayload.Fill(r.Span, sequence);
                        r.Commit();
                    }
                }
                catch (Exception e)
                {
                    producerEnd = e;
                }
            });
            var consumer = new Thread(() =>
            {
                try
                {
                    for (ulong expected = 0; ; expected++)
                    {
                        ChannelMessage m = channel.Read();
                        if (!SequencedPayload.Check(m.Payload, expected))
                            Interlocked.Increment(ref badRecords);
                        m.Release();
                        Interlocked.Increment(ref read);
                    }
                }
                catch (Exception e)
                {
                    consumerEnd = e;
                }
            });
            producer.Start();
            consumer.Start();
            Thread.Sleep(round % 4); // 0-3 ms: some disposals land before the first record, most mid-stream
            channel.Dispose();
            Assert.That(producer.Join(TimeSpan.FromSeconds(10)) && consumer.Join(TimeSpan.FromSeconds(10)), Is.True, "both sides ended");
            Assert.That(producerEnd, Is.InstanceOf<ObjectDisposedException>().Or.InstanceOf<PsyneClosedException>(), $"round {round}: producer");
            Assert.That(consumerEnd, Is.InstanceOf<ObjectDisposedException>().Or.InstanceOf<PsyneClosedException>(), $"round {round}: consumer");
            Assert.That(Interlocked.Read(ref badRecords), Is.Zero, $"round {round}: {read} records read");
        }
    }

    [TestCase("inproc")]
    [TestCase("ipc")]
    public void RingMemoryOfUnreachableChannelsIsFreed(string transport)
    {
        CollectEverything();
        long before = RingMemory.LiveBytes;
        const int Channels = 8, Capacity = 1 << 20;
        CreateAndDispose(Channels, Capacity, dispose: true, transport);
        CreateAndDispose(Channels, Capacity, dispose: false, transport); // forgotten without Dispose: the finalizers close them
        CollectEverything();
        Assert.That(RingMemory.LiveBytes, Is.LessThanOrEqualTo(before), "every ring freed once its channel was unreachable");
    }

    /// <summary>Without an explicit collection: each ring is reported to the GC as memory pressure, so dropping large channels prompts collections.</summary>
    [Test]
    public void DroppedLargeChannelsPromptCollections()
    {
        CollectEverything();
        long before = RingMemory.LiveBytes, peak = 0;
        const int Channels = 48, Capacity = 64 << 20; // 3 GiB in all if nothing were freed (untouched pages cost nothing)
        for (int i = 0; i < Channels; i++)
        {
            CreateAndDispose(1, Capacity, dispose: true);
            peak = Math.Max(peak, RingMemory.LiveBytes - before);
        }
        Assert.That(peak, Is.LessThan((long)Channels * Capacity / 2), "collections freed rings along the way");
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // so no reference to the channels outlives this frame
    private static void CreateAndDispose(int count, int capacity, bool dispose, string transport = "inproc")
    {
        var channels = new List<Channel>();
        for (int i = 0; i < count; i++)
        {
            var channel = Channel.Open($"{transport}://{UniqueName("mem")}", new ChannelOptions { Capacity = capacity });
            Assert.That(channel.Write(new byte[16]), Is.True);
            channels.Add(channel);
        }
        // At least these rings (others, unreachable, may be freed meanwhile).
        Assert.That(RingMemory.LiveBytes, Is.GreaterThanOrEqualTo((long)count * capacity), "a reachable channel keeps its ring");
        if (dispose)
        {
            foreach (Channel channel in channels)
                channel.Dispose();
            Assert.That(RingMemory.LiveBytes, Is.GreaterThanOrEqualTo((long)count * capacity),
                "disposed but reachable: a call on another thread might still be in its ring");
        }
    }

    private static void CollectEverything()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
