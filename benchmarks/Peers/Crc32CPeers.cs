using System.Numerics;
using System.Runtime.InteropServices;

namespace Psyne.Benchmarks.Peers;

/// <summary>
/// What a .NET developer writes without Psyne: a CRC32C loop over <see cref="BitOperations.Crc32C(uint, ulong)"/>,
/// eight bytes per step (the JIT emits the crc32 instruction, one dependent chain).
/// Shared by the BenchmarkDotNet suite and <c>psyne bench crc32c</c> so both measure the same peer.
/// </summary>
public static class Crc32CPeers
{
    public static uint BitOperationsLoop(ReadOnlySpan<byte> data)
    {
        uint crc = ~0u;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
            crc = BitOperations.Crc32C(crc, w);
        foreach (byte b in data[(words.Length * sizeof(ulong))..])
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
