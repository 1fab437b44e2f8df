using System.IO.Compression;
using System.Xml.Linq;
using Psyne.Native;
using Psyne.Tests.Support;

namespace Psyne.Tests.Packaging;

/// <summary>
/// The NuGet package built by ./build.sh --target=Pack (the Test target packs first), and
/// a consumer that restores it from the local feed in a fresh project outside the solution.
/// </summary>
[TestFixture]
public class PackageTests
{
    private static string Version => Capabilities.Detect().Version;

    private static string PackagePath(string extension)
    {
        string path = Path.Combine(RepoPaths.Artifacts, $"Psyne.{Version}.{extension}");
        Assert.That(File.Exists(path), $"{path} does not exist: run ./build.sh --target=Pack (the Test target does) first");
        return path;
    }

    [Test]
    public void The_package_carries_the_managed_and_native_libraries_readme_and_licence()
    {
        using ZipArchive zip = ZipFile.OpenRead(PackagePath("nupkg"));
        string[] entries = zip.Entries.Select(e => e.FullName).ToArray();
        Assert.That(entries, Does.Contain("lib/net10.0/Psyne.dll"));
        Assert.That(entries, Does.Contain("lib/net10.0/Psyne.xml"), "API docs for IntelliSense");
        Assert.That(entries, Does.Contain("runtimes/linux-x64/native/libpsyne.so"));
        Assert.That(entries, Does.Contain("README.md"));
        Assert.That(entries.Where(e => e.EndsWith(".so", StringComparison.Ordinal)), Has.Exactly(1).Items, "one native library, in its runtimes folder");

        ZipArchiveEntry nativeEntry = zip.GetEntry("runtimes/linux-x64/native/libpsyne.so")!;
        Assert.That(nativeEntry.Length, Is.EqualTo(new FileInfo(Path.Combine(RepoPaths.Root, "build", "native", "libpsyne.so")).Length),
            "the package carries the library that was just built");

        using Stream nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        XElement metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Meta(string name) => metadata.Elements().Single(e => e.Name.LocalName == name).Value;
        Assert.That(Meta("id"), Is.EqualTo("Psyne"));
        Assert.That(Meta("version"), Is.EqualTo(Version));
        Assert.That(Meta("license"), Is.EqualTo("MIT"));
        Assert.That(Meta("readme"), Is.EqualTo("README.md"));
    }

    [Test]
    public void The_symbol_package_carries_the_pdb()
    {
        using ZipArchive zip = ZipFile.OpenRead(PackagePath("snupkg"));
        Assert.That(zip.Entries.Select(e => e.FullName), Does.Contain("lib/net10.0/Psyne.pdb"));
    }

    [Test]
    public void A_fresh_console_project_restores_the_package_and_calls_native_code()
    {
        PackagePath("nupkg");
        string work = Directory.CreateTempSubdirectory("psyne-consumer-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(work, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Psyne" Version="{Version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(work, "Program.cs"), """
                var caps = Psyne.Capabilities.Detect();
                uint crc = Psyne.Crc32C.Compute("123456789"u8);
                Console.WriteLine($"psyne {caps.Version} isa={caps.SelectedIsa} crc=0x{crc:X8}");
                return crc == 0xE3069283 ? 0 : 1;
                """);
            // The local feed first; the machine's configured feeds stay for anything else.
            File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="psyne-local" value="{RepoPaths.Artifacts}" />
                  </packageSources>
                  <packageSourceMapping>
                    <packageSource key="psyne-local"><package pattern="Psyne" /></packageSource>
                    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
                  </packageSourceMapping>
                </configuration>
                """);
            // A private packages folder, so a Psyne of the same version cached by an earlier run is never used.
            var env = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") };
            ChildProcess.Result run = ChildProcess.Run("dotnet", ["run", "-c", "Release"], env, work, TimeSpan.FromMinutes(5));
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stdout, Does.Contain($"psyne {Version}").And.Contain("crc=0xE3069283"));
            Assert.That(Directory.GetFiles(Path.Combine(work, "bin"), NativeLibraryLocator.FileName, SearchOption.AllDirectories),
                Is.Not.Empty, "the native library came from the package");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
