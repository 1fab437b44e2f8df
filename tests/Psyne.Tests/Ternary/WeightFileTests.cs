using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Psyne.Ternary;
using Psyne.Tests.Support;

namespace Psyne.Tests.Ternary;

/// <summary>Reading float32 weights from .npy and .safetensors, and psyne ternary quantize end to end.</summary>
[TestFixture]
public class WeightFileTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("psyne-weights-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    private static float[] Values(int count) => Enumerable.Range(0, count).Select(i => (float)Math.Sin(i) * 0.1f).ToArray();

    internal static byte[] Npy(float[] values, string shape, string descr = "<f4", string fortran = "False", int version = 1)
    {
        string header = $"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': ({shape}), }}";
        int prefix = version == 1 ? 10 : 12;
        header = header.PadRight((prefix + header.Length + 1 + 63) / 64 * 64 - prefix - 1) + "\n";
        var ms = new MemoryStream();
        ms.Write([0x93, .. "NUMPY"u8, (byte)version, 0]);
        if (version == 1) ms.Write(BitConverter.GetBytes((ushort)header.Length));
        else ms.Write(BitConverter.GetBytes((uint)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        return ms.ToArray();
    }

    internal static byte[] Safetensors(params (string Name, string DType, int[] Shape, float[] Values)[] tensors)
    {
        var json = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        foreach (var t in tensors)
        {
            long length = t.Values.Length * 4L;
            json.Append($",\"{t.Name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(',', t.Shape)}],\"data_offsets\":[{offset},{offset + length}]}}");
            offset += length;
        }
        json.Append('}');
        byte[] header = Encoding.UTF8.GetBytes(json.ToString());
        var ms = new MemoryStream();
        Span<byte> size = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)header.Length);
        ms.Write(size);
        ms.Write(header);
        foreach (var t in tensors)
            ms.Write(MemoryMarshal.AsBytes(t.Values.AsSpan()));
        return ms.ToArray();
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestCase(1)]
    [TestCase(2)]
    public void Npy_float32_matrices_are_read_exactly(int version)
    {
        float[] values = Values(12 * 7);
        FloatMatrix m = WeightFile.Read(Write("w.npy", Npy(values, "12, 7", version: version)));
        Assert.That((m.Name, m.Rows, m.Cols), Is.EqualTo(("w", 12, 7)));
        Assert.That(m.Values, Is.EqualTo(values));
    }

    [Test]
    public void Safetensors_picks_the_only_matrix_or_the_named_one()
    {
        float[] a = Values(6), b = Values(20), bias = Values(4);
        string path = Write("m.safetensors", Safetensors(("a", "F32", [2, 3], a), ("bias", "F32", [4], bias), ("b", "F32", [4, 5], b)));
        var e = Assert.Throws<PsyneFormatException>(() => WeightFile.Read(path));
        Assert.That(e!.Message, Does.Contain("2 2-D F32 tensors").And.Contain("a").And.Contain("b"));
        FloatMatrix m = WeightFile.Read(path, "b");
        Assert.That((m.Rows, m.Cols), Is.EqualTo((4, 5)));
        Assert.That(m.Values, Is.EqualTo(b));

        string single = Write("s.safetensors", Safetensors(("bias", "F32", [4], bias), ("only", "F32", [2, 3], a)));
        Assert.That(WeightFile.Read(single).Values, Is.EqualTo(a));
    }

    [Test]
    public void Malformed_files_are_format_errors_saying_what_was_expected()
    {
        float[] v = Values(6);
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("d.npy", Npy(v, "2, 3", descr: "<f8"))))!.Message, Does.Contain("'<f4'"));
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("f.npy", Npy(v, "2, 3", fortran: "True"))))!.Message, Does.Contain("Fortran"));
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("r.npy", Npy(v, "6,"))))!.Message, Does.Contain("1 dimension"));
        byte[] truncated = Npy(v, "2, 3");
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("t.npy", truncated[..^5])))!.Message, Does.Contain("ends after"));
        Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("g.npy", "not numpy at all"u8.ToArray())));
        Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("x.bin", truncated)));

        byte[] huge = Safetensors(("a", "F32", [2, 3], v));
        BinaryPrimitives.WriteUInt64LittleEndian(huge, ulong.MaxValue);
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("h.safetensors", huge)))!.Message, Does.Contain("header claims"));
        byte[] lying = Safetensors(("a", "F32", [3, 3], v)); // shape says 9 values, offsets hold 6
        Assert.That(Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("l.safetensors", lying)))!.Message, Does.Contain("needs 36"));
        byte[] f16 = Safetensors(("a", "F16", [2, 3], v));
        Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("h16.safetensors", f16), "a"));
        byte[] json = Safetensors(("a", "F32", [2, 3], v));
        json[10] = (byte)'{';
        Assert.Throws<PsyneFormatException>(() => WeightFile.Read(Write("j.safetensors", json)));
    }

    [Test]
    public void The_CLI_quantizes_a_safetensors_matrix_into_a_loadable_psyt_file()
    {
        float[] w = Values(48 * 256);
        string input = Write("layer.safetensors", Safetensors(("bias", "F32", [48], Values(48)), ("weight", "F32", [48, 256], w)));
        string output = Path.Combine(_dir, "layer.psyt");
        ChildProcess.Result r = ChildProcess.Psyne(null, "ternary", "quantize", input, output, "--per-row");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout, Does.Contain("48 x 256").And.Contain("per row"));

        using TernaryMatrix loaded = TernaryMatrix.Load(output);
        using TernaryMatrix expected = TernaryMatrix.Quantize(w, 48, 256, TernaryScaleMode.PerRow);
        sbyte[] a = new sbyte[w.Length], b = new sbyte[w.Length];
        loaded.Unpack(a);
        expected.Unpack(b);
        Assert.That(a, Is.EqualTo(b));

        ChildProcess.Result bad = ChildProcess.Psyne(null, "ternary", "quantize", Write("bad.npy", "junk"u8.ToArray()), output);
        Assert.That(bad.ExitCode, Is.EqualTo(1));
        Assert.That(bad.Stderr, Does.Contain("PsyneFormatException"));
    }
}
