using Psyne.Tests.Support;

namespace Psyne.Tests.Bindings;

/// <summary>
/// The MSBuild check every build of Psyne runs (bindings/CheckBindings.targets): a hand-edited
/// Psyne.Native.g.cs or a header changed without regenerating must fail the build with a
/// message that says to regenerate. Runs the real target on a copy of the repository's files.
/// </summary>
[TestFixture]
public class BindingsBuildCheckTests
{
    private string _copy = "";

    [SetUp]
    public void CopyBindingsAndHeaders()
    {
        _copy = Directory.CreateTempSubdirectory("psyne-bindcheck-").FullName;
        foreach (string relative in new[] { "bindings", "native/include/psyne" })
        {
            string target = Path.Combine(_copy, relative);
            Directory.CreateDirectory(target);
            foreach (string file in Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, relative)))
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        File.WriteAllText(Path.Combine(_copy, "check.proj"), """
            <Project>
              <Import Project="bindings/CheckBindings.targets" />
              <Target Name="CoreCompile" />
            </Project>
            """);
    }

    [TearDown]
    public void Delete() => Directory.Delete(_copy, recursive: true);

    private ChildProcess.Result RunCheck() =>
        ChildProcess.Run("dotnet", ["msbuild", "check.proj", "-t:PsyneCheckBindings", "-nologo", "-v:m"], workingDirectory: _copy);

    [Test]
    public void The_committed_bindings_pass()
    {
        ChildProcess.Result r = RunCheck();
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
    }

    [Test]
    public void Deleting_a_line_from_the_generated_file_fails_the_build_saying_to_regenerate()
    {
        string generated = Path.Combine(_copy, "bindings", "Psyne.Native.g.cs");
        List<string> lines = [.. File.ReadAllLines(generated)];
        lines.RemoveAt(lines.Count / 2);
        File.WriteAllLines(generated, lines);

        ChildProcess.Result r = RunCheck();
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stdout, Does.Contain("Psyne.Native.g.cs does not match").And.Contain("./build.sh --target=Bindings"));
    }

    [Test]
    public void Changing_a_header_without_regenerating_fails_the_build()
    {
        File.AppendAllText(Path.Combine(_copy, "native", "include", "psyne", "psyne.h"), "\n/* a change */\n");
        ChildProcess.Result r = RunCheck();
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stdout, Does.Contain("psyne.h does not match").And.Contain("regenerate"));
    }
}
