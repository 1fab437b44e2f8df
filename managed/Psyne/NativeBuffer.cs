using Psyne.Interop;
using Psyne.Native;

namespace Psyne;

/// <summary>
/// A block of native memory from libpsyne's allocator: aligned, optionally backed by huge
/// pages, exposed as a span without copies. Freed by <see cref="Dispose"/> or, if forgotten,
/// by the finalizer. The span must not be used after disposal.
/// </summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    private readonly AllocationHandle _handle;

    private NativeBuffer(AllocationHandle handle) => _handle = handle;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes aligned to <paramref name="alignment"/>.</summary>
    /// <param name="length">Bytes wanted; at least 1.</param>
    /// <param name="alignment">A power of two, at least the pointer size (default: a cache line).</param>
    /// <param name="hugePages">Ask for 2 MiB pages; falls back quietly, see <see cref="Backing"/>.</param>
    /// <exception cref="PsyneArgumentException">A bad length or alignment.</exception>
    /// <exception cref="PsyneOutOfMemoryException">The system has no memory for it.</exception>
    public static NativeBuffer Allocate(long length, int alignment = 64, bool hugePages = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        NativeRuntime.EnsureInitialized();
        var handle = new AllocationHandle();
        uint flags = (uint)psyne_alloc_flags.PSYNE_ALLOC_ZERO |
                     (hugePages ? (uint)psyne_alloc_flags.PSYNE_ALLOC_HUGE_PAGES : 0);
        psyne_allocation allocation;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_alloc((nuint)length, (nuint)alignment, flags, &allocation));
        handle.Adopt(allocation);
        return new NativeBuffer(handle);
    }

    /// <summary>Length in bytes.</summary>
    public long Length => (long)_handle.Allocation.size;

    /// <summary>How the memory is backed (heap, pages, explicit or transparent huge pages).</summary>
    public MemoryBacking Backing => (MemoryBacking)_handle.Allocation.kind;

    /// <summary>The memory, as long as the buffer is not disposed. Lengths over 2 GiB need <see cref="Slice"/>.</summary>
    public Span<byte> Span => Slice(0, checked((int)Length));

    /// <summary>A part of the memory.</summary>
    public Span<byte> Slice(long offset, int length)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, Length, nameof(length));
        return new Span<byte>((byte*)_handle.Allocation.data + offset, length);
    }

    /// <summary>Frees the memory.</summary>
    public void Dispose() => _handle.Dispose();

    private sealed class AllocationHandle : PsyneSafeHandle
    {
        public psyne_allocation Allocation;

        public void Adopt(psyne_allocation allocation)
        {
            Allocation = allocation;
            SetHandle((nint)allocation.data);
        }

        protected override bool ReleaseHandle()
        {
            psyne_allocation allocation = Allocation;
            return PsyneNative.psyne_free(&allocation) == psyne_status.PSYNE_OK;
        }
    }
}

/// <summary>How a <see cref="NativeBuffer"/> is backed (values as <c>psyne_alloc_kind</c>).</summary>
public enum MemoryBacking
{
    /// <summary>An aligned heap block.</summary>
    Heap = 0,
    /// <summary>An anonymous mapping of normal pages.</summary>
    Pages = 1,
    /// <summary>Explicit huge pages (hugetlbfs).</summary>
    HugeTlb = 2,
    /// <summary>A mapping advised to use transparent huge pages.</summary>
    TransparentHugePages = 3,
}
