using Spectre.Console;

namespace Psyne.Cli.Commands;

/// <summary>Turns a Psyne error into a message on stderr and a non-zero exit code, never a stack trace.</summary>
internal static class CliErrors
{
    public const int Failure = 1;

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (PsyneException e)
        {
            Console.Error.WriteLine($"psyne: {e.GetType().Name}: {e.Message}");
            return Failure;
        }
    }

    public static void Warn(string message) => AnsiConsole.MarkupLineInterpolated($"[yellow]{message}[/]");
}
