using System.Text;

namespace Psyne.Native;

/// <summary>NUL-terminated UTF-8 for native calls that take a path or name.</summary>
internal static class Utf8Path
{
    public static byte[] Encode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0'))
            throw new ArgumentException("The value contains a NUL character.", nameof(value));
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
