using System.Diagnostics;

namespace Psyne.Tests.Support;

/// <summary>Runs a real child process and collects its output, with a deadline so a hang fails the test.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    public static Result Run(string fileName, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null,
                             string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? TestContext.CurrentContext.TestDirectory,
        };
        foreach (string a in arguments)
            info.ArgumentList.Add(a);
        // Child processes must not inherit a forced ISA or library path from the test run unless asked.
        info.Environment.Remove("PSYNE_ISA");
        info.Environment.Remove("PSYNE_NATIVE_PATH");
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null) info.Environment.Remove(key);
                else info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', arguments)} did not finish in time");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the psyne CLI built beside the tests.</summary>
    public static Result Psyne(IDictionary<string, string?>? environment, params string[] arguments) =>
        Run("dotnet", [RepoPaths.CliDll, .. arguments], environment);
}
