using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

// Batches of fixed-size records on the managed SPSC data path (Channel.WriteBatch and
// Channel.TryReadBatch). libpsyne's batch calls cost two P/Invokes and a copy of 64 descriptors
// per batch, and on a ring that is nearly empty a batch is a few records, so a consumer that
// keeps up paid that per handful of messages. Here a batch is one pass over the ring: one cursor
// store, one counter update and one wake-up check, as libpsyne's batch functions do.
internal sealed unsafe partial class ChannelCore
{
    /// <summary>
    /// Producer side, in flight: writes as many of <paramref name="values"/> as fit before the
    /// ring wraps and within the room, each as its own record of <c>sizeof(T)</c> bytes, and
    /// publishes them together. 0: call libpsyne (not the common case: the gate, a wrap, a full
    /// ring, an ipc liveness check, a value larger than the ring).
    /// </summary>
    public int TryWriteBatchFast<T>(ReadOnlySpan<T> values, ushort type) where T : unmanaged
    {
        if (!_fast || values.IsEmpty)
            return 0;
        byte* region = _region;
        if (*(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0 || _shut)
            return 0;
        ulong capacity = _capacity;
        ulong tail = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET);
        ulong index = tail & _mask;
        ulong size = (ulong)sizeof(T);
        ulong span = (PsyneNative.PSYNE_RECORD_HEADER_BYTES + size + 7) & ~7UL;
        if ((tail & 7) != 0)
            return 0;
        // Records up to the end of the data area; the wrap's padding is libpsyne's.
        ulong count = Math.Min((ulong)values.Length, (capacity - index) / span);
        if (count == 0)
            return 0;
        // Room for them and for the next header slot, which must read 0 until it is published.
        if (tail + count * span + PsyneNative.PSYNE_RECORD_HEADER_BYTES > _inFlight.CachedRelease + capacity)
        {
            ulong release = Volatile.Read(ref At(PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET)) & ~1UL;
            if ((release & 7) != 0 || release > tail || tail - release > capacity)
                return 0;
            SetCachedRelease(release);
            ulong free = release + capacity - tail; // >= 0: checked above
            if (free < PsyneNative.PSYNE_RECORD_HEADER_BYTES + span)
                return 0;
            count = Math.Min(count, (free - PsyneNative.PSYNE_RECORD_HEADER_BYTES) / span);
        }
        if (tail + count * span + PsyneNative.PSYNE_RECORD_HEADER_BYTES > _inFlight.LivenessAt)
        {
            ArmLivenessCall(tail);
            return 0;
        }
        byte* data = _data;
        ulong end = tail + count * span;
        *(ulong*)(data + (end & _mask)) = 0;
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_TAIL_OFFSET), end);
        // The first record's header goes last, with release semantics: until then its slot reads
        // 0 and the reader stops there, so it never reaches the slots behind it, which still hold
        // the last lap's bytes while they are written.
        ulong header = size | ((ulong)type << 32) | HeaderCommitted;
        byte* first = data + index;
        ref T value = ref MemoryMarshal.GetReference(values);
        Unsafe.WriteUnaligned(first + PsyneNative.PSYNE_RECORD_HEADER_BYTES, value);
        byte* record = first;
        for (ulong i = 1; i < count; i++)
        {
            record += span;
            Unsafe.WriteUnaligned(record + PsyneNative.PSYNE_RECORD_HEADER_BYTES, Unsafe.Add(ref value, (nint)i));
            *(ulong*)record = header;
        }
        Volatile.Write(ref *(ulong*)first, header);
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_WRITTEN_OFFSET) += count;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_BYTES_WRITTEN_OFFSET) += count * size;
        if (_wake)
            WakeIfSleeping(PsyneNative.PSYNE_SEGMENT_READERS_WAITING_OFFSET, consumers: 1);
        return (int)count;
    }

    /// <summary>
    /// Consumer side, in flight: copies the records of <c>sizeof(T)</c> bytes that are ready into
    /// <paramref name="destination"/>, in order, and releases them together.
    /// </summary>
    /// <param name="destination">Where the values go, from its start.</param>
    /// <param name="irregular">
    /// True when the pass stopped at something libpsyne must judge: padding, a record of another
    /// size, records held by an earlier read, a corrupt header, an empty ring whose gate closed.
    /// False: it stopped because the ring is empty or <paramref name="destination"/> is full.
    /// </param>
    /// <returns>How many were read.</returns>
    public int TryReadBatchFast<T>(Span<T> destination, out bool irregular) where T : unmanaged
    {
        irregular = true;
        if (!_fast)
            return 0;
        byte* region = _region, data = _data;
        ulong capacity = _capacity;
        ulong head = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET);
        ulong release = *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET);
        // Records read and not yet released: libpsyne's release keeps them in order.
        if (head != release || (head & 7) != 0)
            return 0;
        ulong size = (ulong)sizeof(T);
        ulong position = head;
        int count = 0;
        irregular = false;
        while (count < destination.Length)
        {
            ulong index = position & _mask;
            ulong h = Volatile.Read(ref *(ulong*)(data + index));
            if (h == 0)
            {
                // Empty: a closed or faulted channel says so through libpsyne once it is drained.
                irregular = count == 0 && *(uint*)(region + PsyneNative.PSYNE_SEGMENT_GATE_OFFSET) != 0;
                break;
            }
            ulong skip = h >> 56;
            ulong span = (PsyneNative.PSYNE_RECORD_HEADER_BYTES + 8 * skip + size + 7) & ~7UL;
            if ((h & (0xFFUL << 48)) != HeaderCommitted || skip > PsyneNative.PSYNE_RECORD_MAX_SKIP || (uint)h != size ||
                span > capacity - index || position + span - head > capacity)
            {
                irregular = true;
                break;
            }
            destination[count++] = Unsafe.ReadUnaligned<T>(data + index + PsyneNative.PSYNE_RECORD_HEADER_BYTES + 8 * skip);
            position += span;
        }
        if (count == 0)
            return 0;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_HEAD_OFFSET) = position;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_MESSAGES_READ_OFFSET) += (ulong)count;
        *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_BYTES_READ_OFFSET) += (ulong)count * size;
        // Release semantics: the copies above are done before the producer may reuse the bytes.
        Volatile.Write(ref *(ulong*)(region + PsyneNative.PSYNE_SEGMENT_RELEASE_HEAD_OFFSET), position);
        if (_wake)
            WakeIfSleeping(PsyneNative.PSYNE_SEGMENT_WRITERS_WAITING_OFFSET, consumers: 0);
        return count;
    }
}
