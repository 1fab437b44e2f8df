using Psyne.Interop;
using Psyne.Native;

namespace Psyne;

/// <summary>Process-wide settings of the native core.</summary>
public static class PsyneRuntime
{
    /// <summary>
    /// The ISA every dispatched kernel uses. Starts at the best the CPU runs, lowered by the
    /// <c>PSYNE_ISA</c> environment variable (scalar, avx2 or avx512).
    /// </summary>
    public static Isa SelectedIsa
    {
        get
        {
            NativeRuntime.EnsureInitialized();
            return (Isa)PsyneNative.psyne_isa_selected();
        }
    }

    /// <summary>Selects the ISA for every kernel from now on, process-wide.</summary>
    /// <exception cref="PsyneUnsupportedException">The CPU lacks a feature <paramref name="isa"/> needs; the selection is unchanged.</exception>
    /// <exception cref="PsyneArgumentException"><paramref name="isa"/> is not a defined value.</exception>
    public static void SelectIsa(Isa isa)
    {
        NativeRuntime.EnsureInitialized();
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_isa_select((psyne_isa)isa));
        NativeRuntime.IsaChanged();
    }

    /// <summary>
    /// Threads libpsyne's parallel kernels use (the caller's thread included); starts at the
    /// number of online CPUs. 1 runs every kernel on the calling thread.
    /// </summary>
    /// <exception cref="PsyneArgumentException">0, or more than the library's maximum.</exception>
    public static int Threads
    {
        get
        {
            NativeRuntime.EnsureInitialized();
            return (int)PsyneNative.psyne_threads_get();
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            NativeRuntime.EnsureInitialized();
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_threads_set((uint)value));
        }
    }

    /// <summary>Parses an ISA name as <c>PSYNE_ISA</c> accepts it (scalar, avx2, avx512; any case).</summary>
    /// <exception cref="PsyneArgumentException">The name is not one of them.</exception>
    public static unsafe Isa ParseIsa(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        NativeRuntime.EnsureInitialized();
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        psyne_isa isa;
        fixed (byte* p = utf8)
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_isa_parse(p, &isa));
        return (Isa)isa;
    }
}
