namespace Psyne.Bindgen;

/// <summary>The command line: parses arguments, runs <see cref="BindingGenerator"/>, maps failures to exit codes.</summary>
public static class Cli
{
    private const string Usage =
        "usage: Psyne.Bindgen --header <file.h> --out <file.cs> [--include <dir>]... [--namespace Psyne.Interop]\n"
        + "                     [--class PsyneNative] [--library psyne] [--clang clang] [--check]\n"
        + "  Writes <file.cs> and the stamp <file>.sha256. With --check, writes nothing and exits 1 when\n"
        + "  either differs from what the header generates now.\n"
        + "  Exit codes: 0 ok, 1 out of date (--check) or I/O error, 2 clang missing or failing,\n"
        + "  3 unsupported C construct, 64 bad arguments.";

    /// <summary>Runs the CLI with relative paths resolved against <paramref name="baseDirectory"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, string baseDirectory)
    {
        string? header = null, output = null;
        var includes = new List<string>();
        var defaults = new BindgenOptions { HeaderPath = "" };
        string ns = defaults.Namespace, className = defaults.ClassName, library = defaults.LibraryName, clang = defaults.ClangPath;
        bool check = false;

        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Length)
                    throw new ArgumentException($"{arg} needs a value");
                return args[++i];
            }

            try
            {
                switch (arg)
                {
                    case "--header": header = Value(); break;
                    case "--include" or "-I": includes.Add(Value()); break;
                    case "--out": output = Value(); break;
                    case "--namespace": ns = Value(); break;
                    case "--class": className = Value(); break;
                    case "--library": library = Value(); break;
                    case "--clang": clang = Value(); break;
                    case "--check": check = true; break;
                    case "--help" or "-h":
                        stdout.WriteLine(Usage);
                        return 0;
                    default:
                        throw new ArgumentException($"unknown argument '{arg}'");
                }
            }
            catch (ArgumentException ex)
            {
                stderr.WriteLine($"Psyne.Bindgen: {ex.Message}\n{Usage}");
                return 64;
            }
        }
        if (header == null || output == null)
        {
            stderr.WriteLine($"Psyne.Bindgen: --header and --out are required\n{Usage}");
            return 64;
        }

        var options = new BindgenOptions
        {
            HeaderPath = header,
            IncludeDirectories = includes,
            Namespace = ns,
            ClassName = className,
            LibraryName = library,
            ClangPath = clang,
            BaseDirectory = baseDirectory,
        };

        try
        {
            var result = BindingGenerator.Run(options);
            if (check)
            {
                string? message = BindingGenerator.Check(result, output, options.BaseDirectory);
                if (message != null)
                {
                    stderr.WriteLine(message);
                    return 1;
                }
                stdout.WriteLine($"{Paths.Relative(options.BaseDirectory, Path.GetFullPath(output, options.BaseDirectory))} is up to date with {result.HeaderDisplayPath}");
                return 0;
            }
            string outFull = Path.GetFullPath(output, options.BaseDirectory);
            BindingGenerator.Write(result, outFull);
            stdout.WriteLine($"wrote {Paths.Relative(options.BaseDirectory, outFull)} and {Paths.Relative(options.BaseDirectory, BindingGenerator.StampPath(outFull))}");
            return 0;
        }
        catch (BindgenException ex)
        {
            stderr.WriteLine($"Psyne.Bindgen: error: {ex.Message}");
            return ex.ExitCode;
        }
        catch (IOException ex)
        {
            stderr.WriteLine($"Psyne.Bindgen: error: {ex.Message}");
            return 1;
        }
        catch (UnauthorizedAccessException ex)
        {
            stderr.WriteLine($"Psyne.Bindgen: error: {ex.Message}");
            return 1;
        }
    }
}
