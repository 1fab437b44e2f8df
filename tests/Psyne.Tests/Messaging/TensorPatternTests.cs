using Psyne.Benchmarks.Peers;

namespace Psyne.Tests.Messaging;

/// <summary>
/// The demo's tensor values (benchmarks/Peers TensorPattern, vectorised) against their scalar
/// statement in ChannelTestSupport: the same bits for every element, across the 0x10000 period
/// and for lengths that leave a scalar tail.
/// </summary>
public class TensorPatternTests
{
    [TestCase(0, 0L)]
    [TestCase(7, 3L)]
    [TestCase(65_543, 999L)]
    [TestCase(1 << 20, 71L)]
    [TestCase(200_003, 123_456_789L)]
    public void VectorisedFillGivesTheScalarBits(int length, long sequence)
    {
        float[] actual = new float[length], expected = new float[length];
        TensorPattern.Fill(actual, sequence);
        ChannelTestSupport.FillTensor(expected, sequence);
        for (int i = 0; i < length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                Assert.Fail($"element {i}: {actual[i]} vs {expected[i]}");
        }
    }
}
