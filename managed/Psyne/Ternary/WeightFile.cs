using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Psyne.Ternary;

/// <summary>A row-major float32 matrix read from a weight file.</summary>
/// <param name="Name">The tensor's name (the file name for .npy).</param>
/// <param name="Rows">Rows (output features).</param>
/// <param name="Cols">Columns (input features).</param>
/// <param name="Values">Rows × Cols values.</param>
public sealed record FloatMatrix(string Name, int Rows, int Cols, float[] Values);

/// <summary>
/// Reads float32 weight matrices from NumPy <c>.npy</c> files and <c>.safetensors</c> files, the
/// formats training code writes. Every length and offset in a header is checked before it is
/// used; a malformed file is a <see cref="PsyneFormatException"/> saying what was expected.
/// Allocates the matrix; reads the file once.
/// </summary>
public static partial class WeightFile
{
    private const int MaxHeaderBytes = 100 * 1024 * 1024;

    /// <summary>Reads a 2-D float32 tensor. <paramref name="tensor"/> picks one from a safetensors file
    /// holding several; without it, the file must hold exactly one 2-D float32 tensor.</summary>
    /// <param name="path">A .npy or .safetensors file.</param>
    /// <param name="tensor">The tensor's name in a safetensors file, or null.</param>
    /// <param name="progress">Receives the fraction of the tensor's bytes read so far.</param>
    public static FloatMatrix Read(string path, string? tensor = null, IProgress<double>? progress = null)
    {
        using FileStream stream = File.OpenRead(path);
        string extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".npy" => ReadNpy(stream, Path.GetFileNameWithoutExtension(path), progress),
            ".safetensors" => ReadSafetensors(stream, tensor, progress),
            _ => throw new PsyneFormatException($"'{path}': expected a .npy or .safetensors file, found extension '{extension}'."),
        };
    }

    /// <summary>Reads a NumPy .npy array (versions 1–3) of dtype &lt;f4 and rank 2, C order.</summary>
    public static FloatMatrix ReadNpy(Stream stream, string name, IProgress<double>? progress = null)
    {
        Span<byte> preamble = stackalloc byte[10];
        ReadExactly(stream, preamble, "the .npy preamble");
        if (preamble[0] != 0x93 || !preamble[1..6].SequenceEqual("NUMPY"u8))
            throw new PsyneFormatException("not a .npy file: the first 6 bytes are not \\x93NUMPY.");
        byte major = preamble[6];
        int headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..]);
        }
        else if (major is 2 or 3)
        {
            Span<byte> rest = stackalloc byte[2];
            ReadExactly(stream, rest, "the .npy header length");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian([preamble[8], preamble[9], rest[0], rest[1]]);
            if (length > MaxHeaderBytes)
                throw new PsyneFormatException($".npy header claims {length} bytes; at most {MaxHeaderBytes} are accepted.");
            headerLength = (int)length;
        }
        else
        {
            throw new PsyneFormatException($".npy format version {major}.{preamble[7]} is not one this reader knows (1.0, 2.0, 3.0).");
        }

        byte[] headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, "the .npy header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        Match descr = NpyDescr().Match(header);
        Match order = NpyFortran().Match(header);
        Match shape = NpyShape().Match(header);
        if (!descr.Success || !order.Success || !shape.Success)
            throw new PsyneFormatException($".npy header is not a dictionary with 'descr', 'fortran_order' and 'shape': {header.Trim()}");
        if (descr.Groups[1].Value != "<f4")
            throw new PsyneFormatException($".npy dtype is '{descr.Groups[1].Value}'; expected '<f4' (little-endian float32): convert with arr.astype('<f4').");
        if (order.Groups[1].Value != "False")
            throw new PsyneFormatException(".npy array is in Fortran order; expected C order: save np.ascontiguousarray(arr).");
        long[] dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => long.TryParse(d, out long v) && v >= 0 ? v : throw new PsyneFormatException($".npy shape has an invalid dimension '{d}'."))
            .ToArray();
        var (rows, cols) = Matrix2D(dims, name);
        return new FloatMatrix(name, rows, cols, ReadFloats(stream, (long)rows * cols, progress));
    }

    /// <summary>Reads one F32 tensor of rank 2 from a .safetensors file.</summary>
    public static FloatMatrix ReadSafetensors(Stream stream, string? tensor, IProgress<double>? progress = null)
    {
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix, "the safetensors header size");
        ulong headerSize = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerSize > MaxHeaderBytes || (stream.CanSeek && (long)headerSize > stream.Length - 8))
            throw new PsyneFormatException($"safetensors header claims {headerSize} bytes, more than the file or the {MaxHeaderBytes}-byte limit allows.");
        byte[] json = new byte[headerSize];
        ReadExactly(stream, json, "the safetensors header");
        long dataStart = 8 + (long)headerSize;

        var candidates = new List<(string Name, string DType, long[] Shape, long Begin, long End)>();
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__")
                    continue;
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                long[] shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw new PsyneFormatException($"safetensors tensor '{p.Name}' has invalid data_offsets.");
                candidates.Add((p.Name, dtype, shape, offsets[0], offsets[1]));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new PsyneFormatException($"safetensors header is not valid JSON of the expected shape: {e.Message}");
        }

        var matrices = candidates.Where(c => c.DType == "F32" && c.Shape.Length == 2).ToList();
        (string Name, string DType, long[] Shape, long Begin, long End) chosen;
        if (tensor is not null)
        {
            chosen = candidates.FirstOrDefault(c => c.Name == tensor);
            if (chosen.Name is null)
                throw new PsyneFormatException($"safetensors file has no tensor '{tensor}'; it has: {string.Join(", ", candidates.Select(c => c.Name))}.");
            if (chosen.DType != "F32")
                throw new PsyneFormatException($"tensor '{tensor}' has dtype {chosen.DType}; expected F32.");
        }
        else if (matrices.Count == 1)
        {
            chosen = matrices[0];
        }
        else
        {
            throw new PsyneFormatException(matrices.Count == 0
                ? "safetensors file holds no 2-D F32 tensor."
                : $"safetensors file holds {matrices.Count} 2-D F32 tensors; name one: {string.Join(", ", matrices.Select(c => c.Name))}.");
        }

        var (rows, cols) = Matrix2D(chosen.Shape, chosen.Name);
        long count = (long)rows * cols;
        if (chosen.End - chosen.Begin != count * sizeof(float))
            throw new PsyneFormatException($"tensor '{chosen.Name}' spans {chosen.End - chosen.Begin} bytes; shape {rows}x{cols} of F32 needs {count * sizeof(float)}.");
        if (stream.CanSeek && dataStart + chosen.End > stream.Length)
            throw new PsyneFormatException($"tensor '{chosen.Name}' ends at byte {dataStart + chosen.End}, past the end of the file ({stream.Length} bytes).");
        if (stream.CanSeek)
            stream.Seek(dataStart + chosen.Begin, SeekOrigin.Begin);
        else
            stream.ReadExactly(new byte[chosen.Begin]);
        return new FloatMatrix(chosen.Name, rows, cols, ReadFloats(stream, count, progress));
    }

    private static (int Rows, int Cols) Matrix2D(long[] dims, string name)
    {
        if (dims.Length != 2)
            throw new PsyneFormatException($"tensor '{name}' has {dims.Length} dimension(s); a weight matrix needs 2 (rows x cols).");
        if (dims[0] <= 0 || dims[1] <= 0 || dims[0] > int.MaxValue || dims[1] > int.MaxValue || dims[0] * dims[1] > Array.MaxLength)
            throw new PsyneFormatException($"tensor '{name}' has shape {dims[0]}x{dims[1]}, which is empty or too large for one matrix.");
        return ((int)dims[0], (int)dims[1]);
    }

    private static float[] ReadFloats(Stream stream, long count, IProgress<double>? progress)
    {
        float[] values = GC.AllocateUninitializedArray<float>((int)count);
        Span<byte> bytes = MemoryMarshal.AsBytes(values.AsSpan());
        const int chunk = 16 << 20;
        for (int done = 0; done < bytes.Length;)
        {
            int n = stream.Read(bytes.Slice(done, Math.Min(chunk, bytes.Length - done)));
            if (n == 0)
                throw new PsyneFormatException($"file ends after {done} of the tensor's {bytes.Length} bytes.");
            done += n;
            progress?.Report((double)done / bytes.Length);
        }
        if (!BitConverter.IsLittleEndian)
            BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<float, int>(values.AsSpan()), MemoryMarshal.Cast<float, int>(values.AsSpan()));
        return values;
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new PsyneFormatException($"file ends inside {what}.");
        }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex NpyDescr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex NpyFortran();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex NpyShape();
}
