namespace Psyne;

/// <summary>
/// Base of every error Psyne raises for a failed native call. <see cref="ErrorCode"/> says
/// which; the subclasses let callers catch one kind without inspecting codes.
/// </summary>
public class PsyneException : Exception
{
    /// <summary>Creates an exception for <paramref name="errorCode"/>.</summary>
    public PsyneException(PsyneErrorCode errorCode, string message, Exception? innerException = null)
        : base(message, innerException) => ErrorCode = errorCode;

    /// <summary>The native status that caused this exception.</summary>
    public PsyneErrorCode ErrorCode { get; }
}

/// <summary>An argument was rejected by libpsyne (<see cref="PsyneErrorCode.InvalidArgument"/>).</summary>
public sealed class PsyneArgumentException(string message) : PsyneException(PsyneErrorCode.InvalidArgument, message);

/// <summary>Memory could not be allocated or mapped (<see cref="PsyneErrorCode.OutOfMemory"/>).</summary>
public sealed class PsyneOutOfMemoryException(string message) : PsyneException(PsyneErrorCode.OutOfMemory, message);

/// <summary>This CPU or platform cannot do what was asked (<see cref="PsyneErrorCode.Unsupported"/>).</summary>
public sealed class PsyneUnsupportedException(string message) : PsyneException(PsyneErrorCode.Unsupported, message);

/// <summary>
/// An optional system library (libfabric, UCX, the CUDA driver, ...) is not installed
/// (<see cref="PsyneErrorCode.Unavailable"/>); the message names it and how to install it.
/// </summary>
public sealed class TransportUnavailableException(string message) : PsyneException(PsyneErrorCode.Unavailable, message);

/// <summary>A named object does not exist (<see cref="PsyneErrorCode.NotFound"/>).</summary>
public sealed class PsyneNotFoundException(string message) : PsyneException(PsyneErrorCode.NotFound, message);

/// <summary>Data has a wrong magic, version, size or checksum (<see cref="PsyneErrorCode.Format"/>).</summary>
public sealed class PsyneFormatException(string message) : PsyneException(PsyneErrorCode.Format, message);

/// <summary>The operating system refused an I/O operation (<see cref="PsyneErrorCode.IO"/>).</summary>
public sealed class PsyneIOException(string message) : PsyneException(PsyneErrorCode.IO, message);

/// <summary>A wait ran out of time (<see cref="PsyneErrorCode.Timeout"/>).</summary>
public sealed class PsyneTimeoutException(string message) : PsyneException(PsyneErrorCode.Timeout, message);

/// <summary>The object or its peer is closed (<see cref="PsyneErrorCode.Closed"/>).</summary>
public sealed class PsyneClosedException(string message) : PsyneException(PsyneErrorCode.Closed, message);

/// <summary>There is no room and the policy is not to wait (<see cref="PsyneErrorCode.Full"/>).</summary>
public sealed class PsyneFullException(string message) : PsyneException(PsyneErrorCode.Full, message);

/// <summary>A broken invariant inside libpsyne (<see cref="PsyneErrorCode.Internal"/>): please report it.</summary>
public sealed class PsyneInternalException(string message) : PsyneException(PsyneErrorCode.Internal, message);

/// <summary>
/// libpsyne could not be found or loaded. The message lists every path that was tried
/// and why each failed.
/// </summary>
public sealed class NativeLibraryNotFoundException : PsyneException
{
    /// <summary>Creates the exception from the probe results.</summary>
    public NativeLibraryNotFoundException(string message, IReadOnlyList<string> pathsTried)
        : base(PsyneErrorCode.Unavailable, message) => PathsTried = pathsTried;

    /// <summary>Every candidate path, in the order tried.</summary>
    public IReadOnlyList<string> PathsTried { get; }
}
