using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne;

/// <summary>
/// CRC32C (Castagnoli polynomial, as in iSCSI, RFC 3720), the checksum Psyne uses for
/// frames and segments. Computed by libpsyne with the fastest variant for the selected
/// ISA: three interleaved <c>crc32</c> instruction streams, or 512-bit carry-less-multiply
/// folding with AVX-512. Allocates nothing; short buffers skip the GC transition.
/// </summary>
public static class Crc32C
{
    /// <summary>Size of a CRC32C in bytes.</summary>
    public const int HashSize = sizeof(uint);

    /// <summary>Computes the CRC32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Computes the CRC32C of an array.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="data"/> is null.</exception>
    public static uint Compute(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Append(0, data.AsSpan());
    }

    /// <summary>
    /// Continues a CRC32C: <paramref name="crc"/> is the CRC of the bytes before
    /// <paramref name="data"/> (0 to start), so <c>Append(Compute(a), b) == Compute(a + b)</c>.
    /// </summary>
    [SkipLocalsInit]
    public static unsafe uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        NativeRuntime.EnsureInitialized();
        // Below this size the call into libpsyne costs more than the checksum: one crc32
        // instruction chain in managed code is the fastest there is (it is what libpsyne's
        // hardware variant does for short tails too). PSYNE_ISA=scalar turns it off.
        if (data.Length <= ManagedMaxLength && NativeRuntime.HardwareCrcInManagedCode)
            return ManagedHardware(crc, data);
        uint result;
        psyne_status status;
        fixed (byte* p = data)
        {
            status = data.Length <= PsyneNative.PSYNE_CRC32C_HOT_MAX
                ? PsyneNative.psyne_crc32c_small(crc, p, (nuint)data.Length, &result)
                : PsyneNative.psyne_crc32c(crc, p, (nuint)data.Length, &result);
        }
        NativeStatus.ThrowIfFailed(status);
        return result;
    }

    private const int ManagedMaxLength = 128;

    private static uint ManagedHardware(uint crc, ReadOnlySpan<byte> data)
    {
        ulong reg = ~crc;
        ref byte p = ref MemoryMarshal.GetReference(data);
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            reg = Sse42.X64.Crc32(reg, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, i)));
        uint r = (uint)reg;
        for (; i < data.Length; i++)
            r = Sse42.Crc32(r, Unsafe.Add(ref p, i));
        return ~r;
    }

    /// <summary>Writes the CRC32C of <paramref name="source"/> to <paramref name="destination"/> (little-endian).</summary>
    /// <returns>The number of bytes written, always <see cref="HashSize"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="HashSize"/> bytes.</exception>
    public static int Hash(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < HashSize)
            throw new ArgumentException(
                $"The destination holds {destination.Length} byte(s); a CRC32C needs {HashSize}.", nameof(destination));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Compute(source));
        return HashSize;
    }

    /// <summary>The variant <see cref="Compute(ReadOnlySpan{byte})"/> uses for the selected ISA.</summary>
    public static Crc32CVariant SelectedVariant
    {
        get
        {
            NativeRuntime.EnsureInitialized();
            return (Crc32CVariant)PsyneNative.psyne_crc32c_variant_selected();
        }
    }

    /// <summary>Computes with one named variant, for tests and benchmarks.</summary>
    /// <exception cref="PsyneUnsupportedException">This CPU cannot run <paramref name="variant"/>.</exception>
    public static unsafe uint Compute(Crc32CVariant variant, uint crc, ReadOnlySpan<byte> data)
    {
        NativeRuntime.EnsureInitialized();
        uint result;
        fixed (byte* p = data)
        {
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_crc32c_variant_compute(
                (psyne_crc32c_variant)variant, crc, p, (nuint)data.Length, &result));
        }
        return result;
    }
}

/// <summary>The CRC32C implementations in libpsyne.</summary>
public enum Crc32CVariant
{
    /// <summary>The fastest for the selected ISA.</summary>
    Auto = 0,
    /// <summary>Portable slicing-by-8 tables.</summary>
    Table = 1,
    /// <summary>The <c>crc32</c> instruction, three streams interleaved.</summary>
    Hardware = 2,
    /// <summary>512-bit carry-less-multiply folding (AVX-512 with VPCLMULQDQ).</summary>
    VectorClmul = 3,
}
