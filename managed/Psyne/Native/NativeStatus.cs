using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Interop;

namespace Psyne.Native;

/// <summary>
/// The one place that turns a native status into an exception (the only caller of
/// <c>psyne_last_error</c>). Call sites write <c>NativeStatus.ThrowIfFailed(PsyneNative.psyne_x(...))</c>.
/// </summary>
internal static unsafe class NativeStatus
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfFailed(psyne_status status)
    {
        if (status != psyne_status.PSYNE_OK)
            Throw(status);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [DoesNotReturn]
    public static void Throw(psyne_status status) => throw Create(status, LastErrorMessage());

    /// <summary>The thread-local message of the last failed call on this thread.</summary>
    public static string LastErrorMessage()
    {
        string? message = Marshal.PtrToStringUTF8((nint)PsyneNative.psyne_last_error());
        return string.IsNullOrEmpty(message) ? "(libpsyne gave no message)" : message;
    }

    public static PsyneException Create(psyne_status status, string message) => status switch
    {
        psyne_status.PSYNE_E_INVALID_ARGUMENT => new PsyneArgumentException(message),
        psyne_status.PSYNE_E_OUT_OF_MEMORY => new PsyneOutOfMemoryException(message),
        psyne_status.PSYNE_E_UNSUPPORTED => new PsyneUnsupportedException(message),
        psyne_status.PSYNE_E_UNAVAILABLE => new TransportUnavailableException(message),
        psyne_status.PSYNE_E_NOT_FOUND => new PsyneNotFoundException(message),
        psyne_status.PSYNE_E_FORMAT => new PsyneFormatException(message),
        psyne_status.PSYNE_E_IO => new PsyneIOException(message),
        psyne_status.PSYNE_E_TIMEOUT => new PsyneTimeoutException(message),
        psyne_status.PSYNE_E_CLOSED => new PsyneClosedException(message),
        psyne_status.PSYNE_E_FULL => new PsyneFullException(message),
        psyne_status.PSYNE_E_INTERNAL => new PsyneInternalException(message),
        _ => new PsyneException((PsyneErrorCode)(int)status, $"libpsyne returned unknown status {(int)status}: {message}"),
    };
}
