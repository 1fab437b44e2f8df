using System.Runtime.CompilerServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

// ---- the lean SPSC paths ---------------------------------------------------------------------
//
// An SPSC ring whose bytes this core owns (RingMemory: an inproc block or an ipc handle's mapping)
// needs, in the common case of each call, nothing but the ring: no in-flight mark. These paths
// do that common case with as few instructions as the layout allows, one flag per side deciding
// whether they apply. With two threads, a side's rate follows how many records its core keeps in
// flight, which is how many fit in the CPU's reorder window: a side that takes 100 instructions a
// message lets far fewer cache-line transfers overlap than one that takes 40 (docs/architecture.md,
// "Lean paths"). Everything else (wrap-around, a full or empty ring, records of other shapes,
// errors, an ipc producer's liveness call every LivenessStride bytes) goes to the general fast
// paths and libpsyne as before. A peer process's header is trusted only as far as memory safety
// needs: the record lies inside the ring.
internal sealed unsafe partial class ChannelCore
{
    private const int DataOffset = PsyneNative.PSYNE_SEGMENT_DATA_OFFSET;
    private const ulong HeaderBytes = PsyneNative.PSYNE_RECORD_HEADER_BYTES;

    /// <summary>0 while the producer's lean paths apply: an owned ring, membarrier ordering, the gate open, not shut down.</summary>
    internal int LeanProducer = 1;

    /// <summary>0 while the consumer's lean paths apply: an owned ring, membarrier ordering, not closing.</summary>
    internal int LeanConsumer = 1;

    /// <summary>Turns the lean paths on once the ring is ours (MapRegion).</summary>
    private void EnableLeanPaths()
    {
        if (!_unbracketed || _fence)
            return; // without membarrier the publisher's look at the sleepers needs a fence first: the general paths do that
        LeanProducer = 0;
        LeanConsumer = 0;
    }

    /// <summary>Sends every later producer call down the general paths (the gate closed, consumers left, shutdown).</summary>
    private void EndLeanProducer() => Volatile.Write(ref LeanProducer, 1);

    /// <summary>Sends every later call of both sides down the general paths (closing).</summary>
    private void EndLeanPaths()
    {
        Volatile.Write(ref LeanProducer, 1);
        Volatile.Write(ref LeanConsumer, 1);
    }

    /// <summary>
    /// Reserves <paramref name="size"/> bytes (8-byte aligned payload) when the record and the next
    /// header's slot fit before the end of the lap and within the lean limit (the release head last
    /// seen; for ipc also the next liveness call). Null: use the general path (it refreshes the
    /// release head, calls libpsyne for liveness, wraps, waits or reports the error).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryReserveLean(uint size, out ulong token)
    {
        byte* region = _region;
        ulong capacity = _capacity;
        ulong tail = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET);
        ulong index = tail & _mask;
        ulong span = (HeaderBytes + size + 7) & ~7UL;
        token = tail;
        if (index + span > capacity || tail + span + HeaderBytes > _inFlight.LeanLimit ||
            *(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0)
            return null;
        byte* data = region + DataOffset;
        *(ulong*)(data + ((tail + span) & _mask)) = 0; // the next header's slot reads 0 until it is published
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET), tail + span);
        return data + index + HeaderBytes;
    }

    /// <summary>
    /// Publishes the whole latest reservation if <see cref="TryReserveLean"/> made it (its payload
    /// right after its header) and nothing settled it yet; wakes a sleeping consumer. False: use
    /// the general path, which judges anything else.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryCommitLean(byte* payload, ulong token, uint length, ushort type)
    {
        byte* region = _region;
        byte* header = region + DataOffset + (token & _mask);
        if (payload != header + HeaderBytes || token < _inFlight.SettledEnd ||
            token + ((HeaderBytes + length + 7) & ~7UL) != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET))
            return false;
        _inFlight.SettledEnd = token + 1;
        // The header last, with release semantics: a consumer that sees it sees the payload.
        Volatile.Write(ref *(ulong*)header, length | ((ulong)type << 32) | HeaderCommitted);
        Count(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET, length);
        // Ordered after the header by the sleeper's membarrier (EnableLeanPaths requires it).
        if (Volatile.Read(ref *(uint*)(region + PsyneNative.PSYNE_SEGMENT_READERS_WAITING_OFFSET)) != 0)
            Wake(1);
        return true;
    }

    /// <summary>
    /// Takes the record at the head when it is a committed record with its payload right after its
    /// header and lies within the ring. Null: use the general path (empty, padding, other shapes, corrupt).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TryReadLean(out uint length, out ushort type, out ulong token)
    {
        byte* region = _region;
        ulong head = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET);
        ulong index = head & _mask;
        byte* record = region + DataOffset + index;
        ulong h = Volatile.Read(ref *(ulong*)record);
        uint len = (uint)h;
        ulong span = (HeaderBytes + len + 7) & ~7UL;
        length = len;
        type = (ushort)(h >> 32);
        token = head;
        // Flags exactly "committed" and no skip; within the ring whatever the length says.
        if ((h >> 48) != PsyneNative.PSYNE_RECORD_FLAG_COMMITTED || index + span > _capacity)
            return null;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET) = head + span;
        Count(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_READ_OFFSET, len);
        return record + HeaderBytes;
    }

    /// <summary>
    /// Releases the record at <paramref name="token"/> of <paramref name="length"/> payload bytes
    /// when it is the oldest held and the only one (the release head at it, the head right after it);
    /// wakes a sleeping producer. False: use the general path (held records behind or ahead, another
    /// shape, a second release).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReleaseLean(ulong token, uint length)
    {
        byte* region = _region;
        ulong end = token + ((HeaderBytes + length + 7) & ~7UL);
        if (token != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET) ||
            end != *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET))
            return false;
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET), end);
        if (Volatile.Read(ref *(uint*)(region + PsyneNative.PSYNE_SEGMENT_WRITERS_WAITING_OFFSET)) != 0)
            Wake(0);
        return true;
    }
}
