using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Psyne.Native;

/// <summary>
/// The same tiny native function as <c>PsyneNative.psyne_version</c>, bound without
/// <see cref="SuppressGCTransitionAttribute"/>: benchmarks call both to show what the
/// PSYNE_HOT annotation saves per call.
/// </summary>
internal static partial class TransitionProbe
{
    [LibraryImport(Interop.PsyneNative.LibraryName, EntryPoint = "psyne_version")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial uint VersionWithGcTransition();
}
