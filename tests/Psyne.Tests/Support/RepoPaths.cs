namespace Psyne.Tests.Support;

/// <summary>Where things are in the repository the tests were built from.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(() =>
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Psyne.sln")))
                return d.FullName;
        }
        throw new InvalidOperationException(
            $"No Psyne.sln above {TestContext.CurrentContext.TestDirectory}: run the tests from a checkout.");
    });

    public static string Root => RootLazy.Value;

    public static string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>The CLI, copied beside the tests by the project reference.</summary>
    public static string CliDll => Path.Combine(TestContext.CurrentContext.TestDirectory, "Psyne.Cli.dll");

    public static string TestDirectory => TestContext.CurrentContext.TestDirectory;
}
