using System.Runtime.InteropServices;

namespace Psyne.Native;

/// <summary>
/// Base of every handle to a native libpsyne object: the object is released exactly once,
/// by <see cref="SafeHandle.Dispose()"/> or by the finalizer when a user forgets.
/// </summary>
internal abstract class PsyneSafeHandle : SafeHandle
{
    protected PsyneSafeHandle() : base(invalidHandleValue: 0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;
}
