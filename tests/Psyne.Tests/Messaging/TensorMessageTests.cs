using System.Numerics.Tensors;
using Psyne.Messaging;
using static Psyne.Tests.Messaging.ChannelTestSupport;

namespace Psyne.Tests.Messaging;

public class TensorMessageTests
{
    private static Channel Open(string label, long capacity = 1 << 16) =>
        Channel.Create($"inproc://{UniqueName(label)}", new ChannelOptions { Capacity = capacity });

    [Test]
    public unsafe void DenseTensorIsWrittenAndReadInPlace()
    {
        using Channel ch = Open("dense");
        TensorReservation<float> t = ch.ReserveTensor<float>([2, 3, 4]);
        Assert.That(t.Shape.ToArray(), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(t.Strides.ToArray(), Is.EqualTo(new long[] { 12, 4, 1 }));
        Assert.That(t.Data.Length, Is.EqualTo(24));
        fixed (float* p = t.Data)
            Assert.That((long)p % 64, Is.Zero, "tensor data is 64-byte aligned in the ring");
        for (int i = 0; i < 24; i++)
            t.Data[i] = i * 0.5f;
        TensorSpan<float> view = t.AsTensorSpan();
        view[1, 2, 3] = 100f;
        t.Commit();

        using TensorMessage m = ch.ReadTensor();
        Assert.That((m.DType, m.Rank, m.Layout, m.IsSparse, m.IsQuantized), Is.EqualTo((TensorDType.F32, 3, TensorLayout.RowMajor, false, false)));
        Assert.That(m.Shape.ToArray(), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(m.ElementCount, Is.EqualTo(24));
        ReadOnlySpan<float> data = m.GetData<float>();
        Assert.That(data[5], Is.EqualTo(2.5f));
        Assert.That(data[23], Is.EqualTo(100f));
        ReadOnlyTensorSpan<float> ts = m.AsReadOnlyTensorSpan<float>();
        Assert.That(ts.Lengths.ToArray(), Is.EqualTo(new nint[] { 2, 3, 4 }));
        Assert.That(ts[1, 0, 1], Is.EqualTo(6.5f));
        Assert.That(m.DataBytes.Length, Is.EqualTo(96));
        fixed (byte* p = m.DataBytes)
            Assert.That((long)p % 64, Is.Zero);
    }

    [Test]
    public void ColumnMajorStridesReachTensorSpan()
    {
        using Channel ch = Open("colmajor");
        TensorReservation<int> t = ch.ReserveTensor<int>([2, 3], TensorLayout.ColumnMajor);
        Assert.That(t.Strides.ToArray(), Is.EqualTo(new long[] { 1, 2 }));
        new[] { 0, 10, 1, 11, 2, 12 }.CopyTo(t.Data); // column by column: element [r, c] = 10 r + c
        t.Commit();
        using TensorMessage m = ch.ReadTensor();
        TensorSpan<int> ts = m.AsTensorSpan<int>();
        Assert.That(ts[1, 2], Is.EqualTo(12));
        Assert.That(ts[0, 1], Is.EqualTo(1));
        Assert.That(ts[1, 0], Is.EqualTo(10));
    }

    [Test]
    public void WriteTensorCopiesAndQuantisationTravels()
    {
        using Channel ch = Open("copy");
        sbyte[] values = [-3, -1, 0, 1, 2, 5];
        Assert.That(ch.WriteTensor<sbyte>(values, [6]), Is.True);
        TensorReservation<sbyte> q = ch.ReserveTensor<sbyte>([2, 3]);
        q.SetQuantization(0.05, -2);
        values.CopyTo(q.Data);
        q.Commit();
        Assert.Throws<ArgumentException>(() => ch.WriteTensor<sbyte>(values, [7]));

        using (TensorMessage a = ch.ReadTensor())
            Assert.That(a.GetData<sbyte>().ToArray(), Is.EqualTo(values));
        using TensorMessage b = ch.ReadTensor();
        Assert.That((b.IsQuantized, b.Scale, b.ZeroPoint), Is.EqualTo((true, 0.05, -2L)));
        Assert.That(ch.TryReadTensor(out _), Is.False, "the refused WriteTensor was aborted, not sent");
    }

    [Test]
    public void ReadingAFloatTensorAsIntIsATypedError()
    {
        using Channel ch = Open("mismatch");
        ch.WriteTensor<float>([1f, 2f], [2]);
        using TensorMessage m = ch.ReadTensor();
        var e = Assert.Throws<TensorTypeMismatchException>(() => m.GetData<int>())!;
        Assert.That(e.DType, Is.EqualTo(TensorDType.F32));
        Assert.That(e.Requested, Is.EqualTo(typeof(int)));
        Assert.That(e.Message, Does.Contain("f32").And.Contain("Int32"));
        Assert.Throws<TensorTypeMismatchException>(() => m.AsTensorSpan<double>());
        Assert.Throws<TensorTypeMismatchException>(() => ch.ReserveTensor<decimal>([1]));
        Assert.Throws<TensorTypeMismatchException>(() => ch.ReserveTensor<int>(TensorDType.F32, [1], TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void HalfAndPackedTernaryUseTheirViews()
    {
        using Channel ch = Open("half");
        TensorReservation<Half> h = ch.ReserveTensor<Half>([4]);
        h.Data.Fill((Half)1.5f);
        h.Commit();
        TensorReservation<ushort> bf = ch.ReserveTensor<ushort>(TensorDType.BF16, [2], TimeSpan.FromSeconds(1));
        bf.Commit();
        TensorReservation<byte> ternary = ch.ReserveTensor<byte>(TensorDType.Ternary2, [3, 300], TimeSpan.FromSeconds(1));
        Assert.That(ternary.Data.Length, Is.EqualTo(3 * 2 * 64), "rows × blocks of 256 weights × 64 bytes");
        ternary.Commit();

        using (TensorMessage a = ch.ReadTensor())
        {
            Assert.That(a.GetData<Half>()[3], Is.EqualTo((Half)1.5f));
            Assert.That(a.GetData<ushort>().Length, Is.EqualTo(4));
        }
        using (TensorMessage b = ch.ReadTensor())
            Assert.That(b.DType, Is.EqualTo(TensorDType.BF16));
        using TensorMessage c = ch.ReadTensor();
        Assert.That(c.GetData<byte>().Length, Is.EqualTo(384));
        Assert.Throws<TensorTypeMismatchException>(() => c.AsTensorSpan<byte>());
    }

    [Test]
    public void CsrSparseTensorRoundTrips()
    {
        using Channel ch = Open("csr");
        // [[1, 0, 2], [0, 0, 0], [0, 3, 0]]
        SparseTensorReservation<double, int> s = ch.ReserveSparseTensor<double, int>(3, 3, 3);
        new[] { 0, 2, 2, 3 }.CopyTo(s.IndPtr);
        new[] { 0, 2, 1 }.CopyTo(s.Indices);
        new[] { 1.0, 2.0, 3.0 }.CopyTo(s.Values);
        s.Commit();

        using TensorMessage m = ch.ReadTensor();
        Assert.That(m.IsSparse, Is.True);
        Assert.Throws<InvalidOperationException>(() => m.GetData<double>());
        Assert.Throws<TensorTypeMismatchException>(() => m.AsCsr<double, long>());
        CsrTensor<double, int> csr = m.AsCsr<double, int>();
        Assert.That((csr.Rows, csr.Columns, csr.NonZeros), Is.EqualTo((3L, 3L, 3L)));
        Assert.That(csr.Values.ToArray(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        Assert.That(csr.Indices.ToArray(), Is.EqualTo(new[] { 0, 2, 1 }));

        SparseTensorReservation<float, long> bad = ch.ReserveSparseTensor<float, long>(2, 2, 1);
        new long[] { 0, 1, 1 }.CopyTo(bad.IndPtr);
        bad.Indices[0] = 5; // outside the 2 columns
        bad.Commit();
        using TensorMessage n = ch.ReadTensor();
        var e = Assert.Throws<PsyneFormatException>(() => n.AsCsr<float, long>())!;
        Assert.That(e.Message, Does.Contain("column 5"));
        Assert.That(n.AsCsr<float, long>(validate: false).Indices[0], Is.EqualTo(5));
        Assert.Throws<TensorTypeMismatchException>(() => ch.ReserveSparseTensor<float, short>(2, 2, 1));
    }

    [TestCase(0, "magic")]
    [TestCase(4, "version")]
    [TestCase(168, "")] // data_bytes disagrees with the record length
    public void CorruptTensorHeadersAreFormatErrorsAndAreReleased(int offset, string expected)
    {
        using Channel ch = Open("corrupt");
        TensorReservation<float> t = ch.ReserveTensor<float>([16]);
        t.Commit();
        // Corrupt the header of the next record while the consumer holds it: read it raw, flip a byte.
        using (ChannelMessage raw = ch.Read())
        {
            Span<byte> bytes = raw.WritablePayload;
            byte[] copy = bytes.ToArray();
            copy[offset] ^= 0x5A;
            ChannelReservation r = ch.Reserve(copy.Length, alignment: 64);
            copy.CopyTo(r.Span);
            r.Commit();
        }
        var e = Assert.Throws<PsyneFormatException>(() => ch.ReadTensor())!;
        Assert.That(e.Message, Does.Contain(expected));
        Assert.That(ch.GetStatistics().UsedBytes, Is.Zero, "the bad record was released");
    }

    [Test]
    public void ANonTensorRecordIsAFormatError()
    {
        using Channel ch = Open("nontensor");
        ch.Write(12345L);
        Assert.Throws<PsyneFormatException>(() => ch.TryReadTensor(out _));
        ch.Write(new byte[300]);
        ChannelMessage m = ch.Read();
        Assert.Throws<PsyneFormatException>(() => TensorMessage.From(m));
        m.Release();
    }

    [Test]
    public void BadShapesAreTypedErrors()
    {
        using Channel ch = Open("shapes", capacity: 4096);
        Assert.Throws<ArgumentException>(() => ch.ReserveTensor<float>([1, 1, 1, 1, 1, 1, 1, 1, 1]));
        Assert.Throws<ArgumentException>(() => ch.ReserveTensor<float>([-1]));
        Assert.Throws<PsyneArgumentException>(() => ch.ReserveTensor<float>([2, 2], TensorLayout.Nchw));
        var big = Assert.Throws<PsyneArgumentException>(() => ch.ReserveTensor<float>([1024]))!;
        Assert.That(big.Message, Does.Contain("4096"));
    }
}
