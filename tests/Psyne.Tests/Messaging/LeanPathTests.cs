using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Benchmarks.Peers;
using Psyne.Interop;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// The lean SPSC paths (ChannelCore.Lean.cs): which channels take them, and that every
/// state they do not handle (roles, disposal, completion, consumers gone, other record shapes)
/// still ends in the general paths' behaviour and errors.
/// </summary>
[NonParallelizable]
public unsafe class LeanPathTests
{
    [Test]
    public void RolesAndDisposalStillGiveTheirErrors()
    {
        string uri = InprocUri("lean-roles");
        using Channel producer = Channel.Open(uri, null, ChannelRole.Producer);
        Channel consumer = Channel.Open(uri, null, ChannelRole.Consumer);
        Assert.That(producer.Core.LeanProducer, Is.Zero);
        Assert.Throws<InvalidOperationException>(() => producer.Read(), "a producer-only handle cannot read");
        Assert.Throws<InvalidOperationException>(() => consumer.Reserve(8), "a consumer-only handle cannot reserve");

        Assert.That(producer.Write([7, 7, 7]), Is.True);
        ChannelMessage held = consumer.Read();
        Assert.That(held.Payload.ToArray(), Is.EqualTo(new byte[] { 7, 7, 7 }));
        consumer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => held.Release(), "a release through a disposed handle");
        Assert.Throws<ObjectDisposedException>(() => consumer.TryRead(out _));
        // The last consumer left: reserves fail from now on, lean path or not.
        Assert.That(producer.Core.LeanProducer, Is.EqualTo(1));
        Assert.Throws<PsyneClosedException>(() => producer.Reserve(8));
        Assert.Throws<PsyneClosedException>(() => producer.TryReserve(8, out _));
    }

    [Test]
    public void CompletionEndsReservesAndTheConsumerDrains()
    {
        using Channel ch = Channel.Open(InprocUri("lean-complete"));
        for (ulong i = 0; i < 3; i++)
        {
            ChannelReservation r = ch.Reserve(64);
            SequencedPayload.Fill(r.Span, i);
            r.Commit();
        }
        ch.Complete();
        Assert.That(ch.Core.LeanProducer, Is.EqualTo(1));
        Assert.That(ch.Core.LeanConsumer, Is.Zero, "draining goes on on the lean path");
        Assert.Throws<PsyneClosedException>(() => ch.Reserve(8));
        for (ulong i = 0; i < 3; i++)
        {
            ChannelMessage m = ch.Read();
            Assert.That(SequencedPayload.Check(m.Payload, i), Is.True);
            m.Release();
        }
        Assert.Throws<PsyneClosedException>(() => ch.Read(), "drained and completed");
    }

    /// <summary>Records of every shape through one small ring, held and released in and out of order: the lean and general paths share the cursors.</summary>
    [Test]
    public void AlignedShortAndHeldRecordsInterleaveWithLeanOnes()
    {
        using Channel ch = Channel.Open(InprocUri("lean-mix"), new ChannelOptions { Capacity = 4096 });
        var random = new Random(11);
        var held = new List<ChannelMessage>();
        ulong written = 0, read = 0;
        long bytes = 0;
        for (int round = 0; round < 20_000; round++)
        {
            int size = random.Next(0, 200);
            int alignment = random.Next(6) == 0 ? 64 : 0;
            if (ch.TryReserve(size, out ChannelReservation r, alignment))
            {
                int length = random.Next(8) == 0 ? size / 2 : size; // now and then a short commit
                FillAny(r.Span[..length], written);
                r.Commit(length, type: (ushort)length);
                bytes += length;
                written++;
            }
            while (held.Count < 3 && ch.TryRead(out ChannelMessage m))
            {
                Assert.That(m.Type, Is.EqualTo((ushort)m.Length));
                Assert.That(CheckAny(m.Payload, read), Is.True, $"record {read}");
                held.Add(m);
                read++;
            }
            if (held.Count > 0 && random.Next(3) == 0)
            {
                int which = random.Next(held.Count); // not always the oldest
                held[which].Release();
                held.RemoveAt(which);
            }
        }
        foreach (ChannelMessage m in held)
            m.Release();
        while (ch.TryRead(out ChannelMessage m))
        {
            Assert.That(CheckAny(m.Payload, read), Is.True, $"record {read}");
            m.Release();
            read++;
        }
        Assert.That(read, Is.EqualTo(written));
        ChannelStatistics s = ch.GetStatistics();
        Assert.That((s.MessagesWritten, s.MessagesRead, s.BytesWritten, s.BytesRead, s.UsedBytes),
            Is.EqualTo(((long)written, (long)read, bytes, bytes, 0L)));
    }

    /// <summary>
    /// A fuzz of the managed readers (lean and general) over a ring a peer scribbled on: random
    /// bytes and plausible headers of random lengths at random places among real records. Every
    /// payload a read hands out lies inside the ring; anything else is a typed error.
    /// </summary>
    [TestCase("inproc")]
    [TestCase("ipc")]
    public void GarbageInTheRingNeverReadsOutsideIt(string transport)
    {
        var random = new Random(5);
        int delivered = 0, refused = 0;
        for (int round = 0; round < 300; round++)
        {
            using Channel ch = Channel.Open($"{transport}://{UniqueName("garbage")}", new ChannelOptions { Capacity = 4096 });
            psyne_channel_region region;
            Assert.That(PsyneNative.psyne_channel_region_get(ch.Core.Ptr, &region), Is.EqualTo(psyne_status.PSYNE_OK));
            byte* data = region.@base + PsyneNative.PSYNE_SEGMENT_DATA_OFFSET;
            ulong capacity = region.capacity;
            try
            {
                for (int i = random.Next(0, 60); i > 0; i--)
                {
                    ch.TryWrite(new byte[random.Next(0, 120)]);
                    if (random.Next(3) == 0 && ch.TryRead(out ChannelMessage m))
                        m.Release();
                }
                for (int i = random.Next(1, 6); i > 0; i--)
                {
                    ulong at = (ulong)random.Next(0, (int)capacity - 8) & ~7UL;
                    if (random.Next(2) == 0)
                        *(ulong*)(data + at) = (ulong)(uint)random.Next() | ((ulong)PsyneNative.PSYNE_RECORD_FLAG_COMMITTED << 48);
                    else
                        data[at + (ulong)random.Next(8)] = (byte)random.Next(256);
                }
                for (int i = 0; i < 200 && ch.TryRead(out ChannelMessage m); i++)
                {
                    byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(m.Payload));
                    Assert.That(p >= data && p + m.Length <= data + capacity, $"round {round}: a payload outside the ring");
                    delivered++;
                    m.Release();
                    ch.TryWrite(new byte[random.Next(0, 120)]);
                }
            }
            catch (PsyneException)
            {
                refused++; // a format error (the ring faulted), or a release or reserve the damage made invalid
            }
        }
        TestContext.Out.WriteLine($"{delivered} records delivered, {refused} rounds ended by a typed error");
        Assert.That(refused, Is.GreaterThan(0), "some damage was seen");
    }
}
