namespace Psyne;

/// <summary>
/// What went wrong in a native call. The values are those of <c>psyne_status</c> in
/// <c>psyne.h</c>; a test keeps the two in step.
/// </summary>
public enum PsyneErrorCode
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>A null pointer, a length out of range or an unknown name was passed.</summary>
    InvalidArgument = 1,
    /// <summary>An allocation or memory mapping failed.</summary>
    OutOfMemory = 2,
    /// <summary>This CPU or platform cannot do what was asked.</summary>
    Unsupported = 3,
    /// <summary>An optional system library is not installed.</summary>
    Unavailable = 4,
    /// <summary>A named object does not exist.</summary>
    NotFound = 5,
    /// <summary>Data has a wrong magic, version, size or checksum.</summary>
    Format = 6,
    /// <summary>The operating system refused an I/O operation.</summary>
    IO = 7,
    /// <summary>A wait ran out of time.</summary>
    Timeout = 8,
    /// <summary>The object or its peer is closed.</summary>
    Closed = 9,
    /// <summary>There is no room and the policy is not to wait.</summary>
    Full = 10,
    /// <summary>A broken invariant inside libpsyne: a bug.</summary>
    Internal = 11,
}
