using System.Runtime.InteropServices;

namespace Psyne.Native;

/// <summary>
/// Finds libpsyne. Candidates, in order: <c>PSYNE_NATIVE_PATH</c> (a file or a folder),
/// <c>runtimes/&lt;rid&gt;/native</c> beside the assembly and the app (the NuGet layout), the
/// app folder itself, then a CMake output folder (<c>build/native</c>) in the app folder or
/// any folder above it (a repository checkout). The first that loads wins; if none does,
/// the error lists every path tried and why it failed.
/// </summary>
internal static class NativeLibraryLocator
{
    public const string EnvironmentVariable = "PSYNE_NATIVE_PATH";

    /// <summary>libpsyne's file name on this operating system.</summary>
    public static string FileName =>
        OperatingSystem.IsWindows() ? "psyne.dll" : OperatingSystem.IsMacOS() ? "libpsyne.dylib" : "libpsyne.so";

    /// <summary>The NuGet runtime identifier of this process, e.g. linux-x64.</summary>
    public static string RuntimeIdentifier
    {
        get
        {
            string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            return $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        }
    }

    /// <summary>The candidate paths for this process, in probe order, without duplicates.</summary>
    public static IReadOnlyList<string> Candidates(string? overridePath, IEnumerable<string> baseDirectories)
    {
        var result = new List<string>();
        void Add(string path)
        {
            string full = Path.GetFullPath(path);
            if (!result.Contains(full))
                result.Add(full);
        }

        if (!string.IsNullOrWhiteSpace(overridePath))
            Add(Directory.Exists(overridePath) ? Path.Combine(overridePath, FileName) : overridePath);

        string[] bases = baseDirectories.Where(d => !string.IsNullOrEmpty(d)).Distinct().ToArray();
        foreach (string dir in bases)
            Add(Path.Combine(dir, "runtimes", RuntimeIdentifier, "native", FileName));
        foreach (string dir in bases)
            Add(Path.Combine(dir, FileName));
        foreach (string dir in bases)
        {
            // A checkout: tests, the CLI and benchmarks run from bin/ folders below the repository root.
            for (DirectoryInfo? d = new(dir); d is not null; d = d.Parent)
                Add(Path.Combine(d.FullName, "build", "native", FileName));
        }
        return result;
    }

    /// <summary>The candidates for this process: its environment, its app folder and Psyne's assembly folder.</summary>
    public static IReadOnlyList<string> DefaultCandidates() =>
        Candidates(Environment.GetEnvironmentVariable(EnvironmentVariable), [AppContext.BaseDirectory, AssemblyDirectory()]);

    // Psyne.dll's own folder differs from the app's when a host loads it from elsewhere (a plugin,
    // a test runner). In a single-file app Location is empty and the app folder is all there is.
#pragma warning disable IL3000
    private static string AssemblyDirectory() =>
        Path.GetDirectoryName(typeof(NativeLibraryLocator).Assembly.Location) ?? "";
#pragma warning restore IL3000

    /// <summary>Loads the first candidate that exists and loads, or throws listing every attempt.</summary>
    public static nint Load(IReadOnlyList<string> candidates)
    {
        var tried = new List<string>(candidates.Count);
        foreach (string path in candidates)
        {
            if (!File.Exists(path))
            {
                tried.Add($"{path} (not found)");
                continue;
            }
            try
            {
                return NativeLibrary.Load(path);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                tried.Add($"{path} (exists but failed to load: {e.Message})");
            }
        }
        string message =
            $"Could not load the native library {FileName} for {RuntimeIdentifier}. Paths tried:{Environment.NewLine}  " +
            string.Join(Environment.NewLine + "  ", tried) + Environment.NewLine +
            $"Install the Psyne NuGet package for this platform, build libpsyne with ./build.sh --target=Native, " +
            $"or set {EnvironmentVariable} to the library file or its folder.";
        throw new NativeLibraryNotFoundException(message, tried);
    }
}
