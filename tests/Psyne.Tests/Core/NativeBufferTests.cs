namespace Psyne.Tests.Core;

[TestFixture]
public class NativeBufferTests
{
    [TestCase(1, 8, false)]
    [TestCase(4096, 64, false)]
    [TestCase(1_000_003, 4096, false)]
    [TestCase(5 << 20, 64, true)]
    public unsafe void Blocks_are_aligned_zeroed_and_writable(int length, int alignment, bool hugePages)
    {
        using NativeBuffer buffer = NativeBuffer.Allocate(length, alignment, hugePages);
        Assert.That(buffer.Length, Is.EqualTo(length));
        fixed (byte* p = buffer.Span)
            Assert.That((ulong)p % (ulong)alignment, Is.EqualTo(0UL));
        Assert.That(buffer.Span.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "zeroed");
        buffer.Span.Fill(0xC3);
        Assert.That(buffer.Slice(length - 1, 1)[0], Is.EqualTo(0xC3));
        if (hugePages)
            Assert.That(buffer.Backing, Is.AnyOf(MemoryBacking.HugeTlb, MemoryBacking.TransparentHugePages, MemoryBacking.Pages));
        else
            Assert.That(buffer.Backing, Is.EqualTo(MemoryBacking.Heap));
    }

    [Test]
    public void A_disposed_buffer_refuses_access()
    {
        NativeBuffer buffer = NativeBuffer.Allocate(64);
        buffer.Dispose();
        buffer.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => _ = buffer.Span.Length);
    }

    [Test]
    public void Bad_sizes_and_alignments_are_typed_errors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeBuffer.Allocate(0));
        Assert.Throws<PsyneArgumentException>(() => NativeBuffer.Allocate(64, alignment: 3));
        Assert.Throws<PsyneOutOfMemoryException>(() => NativeBuffer.Allocate(long.MaxValue));
        using NativeBuffer buffer = NativeBuffer.Allocate(64);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(60, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Slice(-1, 1));
    }
}
