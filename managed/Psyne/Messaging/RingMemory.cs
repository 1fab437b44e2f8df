using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// The memory of an inproc channel's ring, taken from libpsyne (<c>psyne_channel_region_take</c>)
/// and freed by the garbage collector's finalizer once nothing can reach it.
/// </summary>
/// <remarks>
/// The managed SPSC data path of an inproc channel touches only this memory, so it need not
/// tell <see cref="ChannelCore.CloseChannel"/> when it is inside a call: closing frees the native
/// handle at once, and the ring bytes live as long as the <see cref="ChannelCore"/> that holds
/// them (each fast path keeps its core alive to its last access). Marking each call in and out
/// cost two stores per call, four per message on each side, and on two cores the producer's
/// stores queue behind the cache misses of the ring's lines: docs/architecture.md, "Inproc fast
/// paths without in-flight marks". The size is reported as memory pressure so that a program that
/// creates and drops large channels prompts collections.
/// </remarks>
internal sealed unsafe class RingMemory
{
    private static long s_liveBytes;
    private psyne_allocation _allocation;

    private RingMemory(psyne_allocation allocation)
    {
        _allocation = allocation;
        long bytes = Bytes(allocation);
        Interlocked.Add(ref s_liveBytes, bytes);
        if (bytes > 0)
            GC.AddMemoryPressure(bytes);
    }

    /// <summary>Bytes of ring memory taken from libpsyne and not yet freed, in this process (for tests).</summary>
    internal static long LiveBytes => Interlocked.Read(ref s_liveBytes);

    /// <summary>Takes the region of an inproc channel; null when libpsyne keeps it (an ipc channel).</summary>
    public static RingMemory? TryTake(psyne_channel* channel)
    {
        psyne_allocation allocation;
        return PsyneNative.psyne_channel_region_take(channel, &allocation) == psyne_status.PSYNE_OK && allocation.data != null
            ? new RingMemory(allocation)
            : null;
    }

    /// <summary>What the block holds: the pages mapped, or the bytes asked for where it came from the heap (no mapping).</summary>
    private static long Bytes(in psyne_allocation allocation) => (long)Math.Max(allocation.size, allocation.mapped_size);

    ~RingMemory()
    {
        long bytes = Bytes(_allocation);
        fixed (psyne_allocation* allocation = &_allocation)
            PsyneNative.psyne_free(allocation);
        Interlocked.Add(ref s_liveBytes, -bytes);
        if (bytes > 0)
            GC.RemoveMemoryPressure(bytes);
    }
}
