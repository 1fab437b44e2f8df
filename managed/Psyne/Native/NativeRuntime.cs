using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Psyne.Interop;

namespace Psyne.Native;

/// <summary>
/// Loads libpsyne once per process and runs <c>psyne_init</c>. Every public entry point
/// that reaches native code calls <see cref="EnsureInitialized"/> first, so a missing
/// library or a bad <c>PSYNE_ISA</c> surfaces as a typed exception at the first call,
/// not as a <see cref="DllNotFoundException"/> deep inside a P/Invoke.
/// </summary>
internal static class NativeRuntime
{
    private static readonly Lock Gate = new();
    private static volatile bool _initialized;
    private static nint _handle;
    private static Exception? _failure;

    /// <summary>
    /// True when short checksums may use the crc32 instruction from managed code: the CPU has it
    /// and the selected ISA is not scalar. Refreshed whenever the ISA changes.
    /// </summary>
    public static bool HardwareCrcInManagedCode { get; private set; }

    internal static void IsaChanged() =>
        HardwareCrcInManagedCode = Sse42.X64.IsSupported && PsyneNative.psyne_isa_selected() != psyne_isa.PSYNE_ISA_SCALAR;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void EnsureInitialized()
    {
        if (!_initialized)
            Initialize();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Initialize()
    {
        lock (Gate)
        {
            if (_initialized)
                return;
            // A failure is final for the process: the same call would fail the same way.
            if (_failure is not null)
                throw Rethrowable(_failure);
            try
            {
                _handle = NativeLibraryLocator.Load(NativeLibraryLocator.DefaultCandidates());
                NativeLibrary.SetDllImportResolver(typeof(NativeRuntime).Assembly, Resolve);
                NativeStatus.ThrowIfFailed(PsyneNative.psyne_init());
                IsaChanged();
                _initialized = true;
            }
            catch (PsyneException e)
            {
                _failure = e;
                throw;
            }
        }
    }

    private static Exception Rethrowable(Exception e) => e switch
    {
        NativeLibraryNotFoundException n => new NativeLibraryNotFoundException(n.Message, n.PathsTried),
        PsyneException p => NativeStatus.Create((psyne_status)(int)p.ErrorCode, p.Message),
        _ => e,
    };

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == PsyneNative.LibraryName ? _handle : 0;
}
