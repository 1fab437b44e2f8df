namespace Psyne.Bindgen;

/// <summary>What to bind and how to name the result.</summary>
public sealed class BindgenOptions
{
    /// <summary>The C header to bind (absolute, or relative to <see cref="BaseDirectory"/>).</summary>
    public required string HeaderPath { get; init; }

    /// <summary>Include directories passed to clang as <c>-I</c>; declarations in headers under them are bound too.</summary>
    public IReadOnlyList<string> IncludeDirectories { get; init; } = [];

    /// <summary>Namespace of the generated file.</summary>
    public string Namespace { get; init; } = "Psyne.Interop";

    /// <summary>Name of the static class holding the functions and constants.</summary>
    public string ClassName { get; init; } = "PsyneNative";

    /// <summary>Library name given to <c>[LibraryImport]</c>.</summary>
    public string LibraryName { get; init; } = "psyne";

    /// <summary>The clang executable (a name looked up on PATH, or a path).</summary>
    public string ClangPath { get; init; } = "clang";

    /// <summary>
    /// Folder that relative paths are resolved against, and that paths written into the output
    /// (comments, error messages) are made relative to. The CLI uses the current directory.
    /// </summary>
    public string BaseDirectory { get; init; } = Environment.CurrentDirectory;
}

/// <summary>A failure of the generator; <see cref="ExitCode"/> is what the CLI exits with.</summary>
public class BindgenException : Exception
{
    public BindgenException(string message, int exitCode = 1)
        : base(message) => ExitCode = exitCode;

    public int ExitCode { get; }
}

/// <summary>clang could not be started, or it failed on the header (exit code 2).</summary>
public sealed class ClangException : BindgenException
{
    public ClangException(string message, string command, string clangStderr, bool clangNotFound)
        : base(message, 2)
    {
        Command = command;
        ClangStderr = clangStderr;
        ClangNotFound = clangNotFound;
    }

    /// <summary>The command line that was run.</summary>
    public string Command { get; }

    /// <summary>What clang wrote to stderr (empty when it could not be started).</summary>
    public string ClangStderr { get; }

    /// <summary>True when the clang executable could not be started at all.</summary>
    public bool ClangNotFound { get; }
}

/// <summary>The header uses a C construct the generator does not map (exit code 3).</summary>
public sealed class UnsupportedConstructException : BindgenException
{
    public UnsupportedConstructException(IReadOnlyList<string> problems)
        : base(Format(problems), 3) => Problems = problems;

    /// <summary>One line per problem: <c>file:line: 'declaration': what is wrong</c>.</summary>
    public IReadOnlyList<string> Problems { get; }

    private static string Format(IReadOnlyList<string> problems) =>
        "unsupported C construct" + (problems.Count == 1 ? "" : "s") + " in the header (nothing was written):\n  "
        + string.Join("\n  ", problems);
}
