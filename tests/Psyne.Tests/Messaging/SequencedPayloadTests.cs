using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Messaging;

/// <summary>
/// The benchmarks' payload (benchmarks/Peers SequencedPayload, which the CLI's channel peer and
/// the demo use too) against the independent statement of its format in ChannelTestSupport: the
/// 64-byte vector path writes the same bytes as the general one, and its check fails on any
/// damaged byte, so a benchmark that reads a message really verifies all of it.
/// </summary>
public class SequencedPayloadTests
{
    [TestCase(0)]
    [TestCase(7)]
    [TestCase(8)]
    [TestCase(63)]
    [TestCase(64)]
    [TestCase(65)]
    [TestCase(200)]
    public void WritesTheDocumentedBytesAndChecksThem(int size)
    {
        foreach (ulong sequence in new[] { 0UL, 1UL, 255UL, 256UL, 0x0123_4567_89AB_CDEFUL, ulong.MaxValue })
        {
            byte[] actual = new byte[size], expected = new byte[size];
            SequencedPayload.Fill(actual, sequence);
            if (size >= 8)
                ChannelTestSupport.Fill(expected, sequence);
            else
                expected.AsSpan().Fill((byte)sequence); // shorter payloads: the low byte everywhere
            Assert.That(actual, Is.EqualTo(expected), $"sequence {sequence:X}");
            Assert.That(SequencedPayload.Check(actual, sequence), Is.True);
            for (int i = 0; i < size; i++)
            {
                actual[i] ^= 0x40;
                Assert.That(SequencedPayload.Check(actual, sequence), Is.False, $"byte {i} damaged, sequence {sequence:X}");
                actual[i] ^= 0x40;
            }
            if (size >= 8)
                Assert.That(SequencedPayload.Check(actual, sequence + 256), Is.False, "another sequence number with the same low byte");
        }
    }
}
