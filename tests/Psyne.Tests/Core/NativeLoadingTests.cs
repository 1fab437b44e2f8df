using Psyne.Native;
using Psyne.Tests.Support;

namespace Psyne.Tests.Core;

/// <summary>Finding libpsyne, and the error when it cannot be found.</summary>
[TestFixture]
public class NativeLoadingTests
{
    private string _temp = "";

    [SetUp]
    public void CreateTemp() => _temp = Directory.CreateTempSubdirectory("psyne-loading-").FullName;

    [TearDown]
    public void DeleteTemp() => Directory.Delete(_temp, recursive: true);

    [Test]
    public void Candidates_follow_the_documented_order()
    {
        string appDir = Path.Combine(_temp, "app");
        IReadOnlyList<string> candidates = NativeLibraryLocator.Candidates("/opt/custom/libpsyne.so", [appDir]);
        string file = NativeLibraryLocator.FileName;
        Assert.That(candidates[0], Is.EqualTo("/opt/custom/libpsyne.so"), "PSYNE_NATIVE_PATH first");
        Assert.That(candidates[1], Is.EqualTo(Path.Combine(appDir, "runtimes", NativeLibraryLocator.RuntimeIdentifier, "native", file)));
        Assert.That(candidates[2], Is.EqualTo(Path.Combine(appDir, file)));
        Assert.That(candidates[3], Is.EqualTo(Path.Combine(appDir, "build", "native", file)));
        Assert.That(candidates, Does.Contain(Path.Combine(_temp, "build", "native", file)), "CMake folders above the app");
        Assert.That(candidates, Is.Unique);
    }

    [Test]
    public void A_folder_in_PSYNE_NATIVE_PATH_means_the_library_inside_it()
    {
        IReadOnlyList<string> candidates = NativeLibraryLocator.Candidates(_temp, []);
        Assert.That(candidates[0], Is.EqualTo(Path.Combine(_temp, NativeLibraryLocator.FileName)));
    }

    [Test]
    public void A_missing_library_is_a_typed_error_listing_every_path_tried()
    {
        string notALibrary = Path.Combine(_temp, "libpsyne.so");
        File.WriteAllText(notALibrary, "this is not an ELF file");
        IReadOnlyList<string> candidates = NativeLibraryLocator.Candidates(Path.Combine(_temp, "missing", "libpsyne.so"), [Path.Combine(_temp, "app")]);
        candidates = [.. candidates, notALibrary];

        var e = Assert.Throws<NativeLibraryNotFoundException>(() => NativeLibraryLocator.Load(candidates));
        Assert.That(e!.PathsTried, Has.Count.EqualTo(candidates.Count));
        foreach (string path in candidates)
            Assert.That(e.Message, Does.Contain(path));
        Assert.That(e.Message, Does.Contain("(not found)").And.Contain("exists but failed to load").And.Contain("PSYNE_NATIVE_PATH"));
        Assert.That(e.ErrorCode, Is.EqualTo(PsyneErrorCode.Unavailable));
    }

    private string CopyCliWithoutNativeLibrary()
    {
        string app = Path.Combine(_temp, "cli");
        Directory.CreateDirectory(app);
        foreach (string file in Directory.EnumerateFiles(RepoPaths.TestDirectory))
        {
            string name = Path.GetFileName(file);
            if (name.StartsWith("Psyne.Cli.", StringComparison.Ordinal) || name == "Psyne.dll" ||
                name is "System.CommandLine.dll" or "Spectre.Console.dll" or "System.IO.Hashing.dll")
                File.Copy(file, Path.Combine(app, name));
        }
        Assert.That(File.Exists(Path.Combine(app, "Psyne.Cli.dll")), "the CLI was copied");
        Assert.That(File.Exists(Path.Combine(app, NativeLibraryLocator.FileName)), Is.False);
        return app;
    }

    [Test]
    public void A_real_process_without_the_library_fails_with_the_paths_and_works_with_PSYNE_NATIVE_PATH()
    {
        string app = CopyCliWithoutNativeLibrary();
        ChildProcess.Result missing = ChildProcess.Run("dotnet", [Path.Combine(app, "Psyne.Cli.dll"), "info", "--json"]);
        Assert.That(missing.ExitCode, Is.EqualTo(1), missing.ToString());
        Assert.That(missing.Stderr, Does.Contain("NativeLibraryNotFoundException")
                                      .And.Contain(Path.Combine(app, NativeLibraryLocator.FileName))
                                      .And.Contain("Paths tried"));

        string real = Path.Combine(RepoPaths.TestDirectory, NativeLibraryLocator.FileName);
        ChildProcess.Result found = ChildProcess.Run("dotnet", [Path.Combine(app, "Psyne.Cli.dll"), "info", "--json"],
            new Dictionary<string, string?> { [NativeLibraryLocator.EnvironmentVariable] = real });
        Assert.That(found.ExitCode, Is.Zero, found.ToString());
        Assert.That(found.Stdout, Does.Contain("\"version\""));
    }
}
