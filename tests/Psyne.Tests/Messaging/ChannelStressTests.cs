using System.Buffers.Binary;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

/// <summary>
/// Every variant through the C# API with real threads: each producer's messages arrive exactly
/// once, in its order at each consumer, with every byte checked. A 4 KiB ring and sizes from 16
/// to 215 bytes make the ring wrap around thousands of times.
/// </summary>
public class ChannelStressTests
{
    private const int Total = 300_000;

    [TestCase(ChannelKind.Spsc, 1, 1, "inproc")]
    [TestCase(ChannelKind.Mpsc, 4, 1, "inproc")]
    [TestCase(ChannelKind.Spmc, 1, 4, "inproc")]
    [TestCase(ChannelKind.Mpmc, 3, 3, "inproc")]
    [TestCase(ChannelKind.Spsc, 1, 1, "ipc")]
    [TestCase(ChannelKind.Mpsc, 4, 1, "ipc")]
    [TestCase(ChannelKind.Spmc, 1, 4, "ipc")]
    [TestCase(ChannelKind.Mpmc, 3, 3, "ipc")]
    public void EveryMessageExactlyOnceInOrder(ChannelKind kind, int producers, int consumers, string transport)
    {
        string uri = $"{transport}://{UniqueName($"stress-{kind}")}";
        var options = new ChannelOptions { Kind = kind, Capacity = 4096 };
        int perProducer = Total / producers;

        // Every handle is opened before any thread starts: a producer leaving before another
        // attached would end the channel for writing.
        var consumerHandles = new Channel[consumers];
        var producerHandles = new Channel[producers];
        consumerHandles[0] = Channel.Create(uri, options, ChannelRole.Consumer);
        for (int c = 1; c < consumers; c++)
            consumerHandles[c] = Channel.Open(uri, options, ChannelRole.Consumer, ChannelOpenMode.OpenExisting);
        for (int p = 0; p < producers; p++)
            producerHandles[p] = Channel.Open(uri, options, ChannelRole.Producer, ChannelOpenMode.OpenExisting);

        var seen = new int[producers * perProducer];
        var errors = new List<string>();
        var threads = new List<Thread>();
        for (int p = 0; p < producers; p++)
        {
            int id = p;
            threads.Add(new Thread(() => Produce(producerHandles[id], id, perProducer)) { Name = $"producer {id}" });
        }
        for (int c = 0; c < consumers; c++)
        {
            int id = c;
            threads.Add(new Thread(() =>
            {
                string? error = Consume(consumerHandles[id], producers, perProducer, seen);
                if (error is not null)
                {
                    lock (errors)
                        errors.Add($"consumer {id}: {error}");
                }
            }) { Name = $"consumer {id}" });
        }
        foreach (Thread t in threads)
            t.Start();
        foreach (Thread t in threads)
        {
            if (!t.Join(TimeSpan.FromMinutes(2)))
                Assert.Fail($"{t.Name} did not finish");
        }
        foreach (Channel ch in consumerHandles)
            ch.Dispose();

        Assert.That(errors, Is.Empty);
        int missing = Array.IndexOf(seen, 0), twice = Array.FindIndex(seen, n => n > 1);
        Assert.That(missing, Is.EqualTo(-1), $"message {missing % perProducer} of producer {missing / perProducer} never arrived");
        Assert.That(twice, Is.EqualTo(-1), $"message {twice % perProducer} of producer {twice / perProducer} arrived twice");
    }

    private static int SizeOf(int producer, int sequence) => 16 + (sequence * 7 + producer * 13) % 200;

    private static void Produce(Channel ch, int producer, int count)
    {
        try
        {
            for (int s = 0; s < count; s++)
            {
                ChannelReservation r = ch.Reserve(SizeOf(producer, s));
                Span<byte> span = r.Span;
                BinaryPrimitives.WriteInt32LittleEndian(span, producer);
                BinaryPrimitives.WriteInt32LittleEndian(span[4..], s);
                span[12..].Fill((byte)(s ^ producer));
                BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Crc32C.Compute(span[12..]));
                r.Commit((ushort)producer);
            }
        }
        finally
        {
            ch.Dispose(); // the last producer to leave ends the channel for writing
        }
    }

    private static string? Consume(Channel ch, int producers, int perProducer, int[] seen)
    {
        var last = new int[producers];
        Array.Fill(last, -1);
        try
        {
            while (true)
            {
                using ChannelMessage m = ch.Read(TimeSpan.FromSeconds(60));
                ReadOnlySpan<byte> p = m.Payload;
                int producer = BinaryPrimitives.ReadInt32LittleEndian(p), s = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
                if ((uint)producer >= producers || (uint)s >= perProducer || m.Type != producer)
                    return $"a record names producer {producer} message {s} type {m.Type}";
                if (p.Length != SizeOf(producer, s))
                    return $"producer {producer} message {s} is {p.Length} bytes, expected {SizeOf(producer, s)}";
                if (BinaryPrimitives.ReadUInt32LittleEndian(p[8..]) != Crc32C.Compute(p[12..]) || p[12..].IndexOfAnyExcept((byte)(s ^ producer)) >= 0)
                    return $"producer {producer} message {s} is corrupt";
                if (s <= last[producer])
                    return $"producer {producer} message {s} came after message {last[producer]}";
                last[producer] = s;
                Interlocked.Increment(ref seen[producer * perProducer + s]);
            }
        }
        catch (PsyneClosedException)
        {
            return null; // every producer left and every record was delivered
        }
    }
}
