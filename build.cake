// Psyne build. Run through ./build.sh, which installs prerequisites and Cake first.
//   Native    configure and build libpsyne with CMake + Ninja (build/native)
//   Bindings  regenerate bindings/Psyne.Native.g.cs from native/include/psyne/psyne.h
//   Build     Native, check the bindings are current, build the solution
//   Test      Build, native tests (plus ASan/UBSan), Pack, NUnit; prints "N passed, N failed, N skipped"
//   Pack      artifacts/Psyne.<version>.nupkg and .snupkg
//   Demo      Build, then `psyne demo`
//   Bench     Build, then `psyne bench all --json` and the BenchmarkDotNet suites
// Every step is incremental: re-running does only what changed.

using System.Xml.Linq;

var target = Argument("target", "Build");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("bench-filter", "*");
var fuzzSeconds = Argument("fuzz-seconds", 20);
var isCI = EnvironmentVariable("CI") == "true";

var root = MakeAbsolute(Directory("."));
var nativeDir = root.Combine("build/native");
var asanDir = root.Combine("build/native-asan");
var artifacts = root.Combine("artifacts");
var testResults = artifacts.Combine("test-results");
var cliDll = root.CombineWithFilePath($"managed/Psyne.Cli/bin/{configuration}/net10.0/Psyne.Cli.dll");

int passed = 0, failed = 0, skipped = 0;
var testsRan = false;

void Run(string tool, string arguments, DirectoryPath workingDirectory = null)
{
    Information($"> {tool} {arguments}");
    int code = StartProcess(tool, new ProcessSettings { Arguments = arguments, WorkingDirectory = workingDirectory ?? root });
    if (code != 0)
        throw new Exception($"{tool} {arguments} exited with {code}");
}

void CMakeBuild(DirectoryPath dir, string extraOptions)
{
    if (!FileExists(dir.CombineWithFilePath("build.ninja")))
        Run("cmake", $"-S . -B \"{dir}\" -G Ninja {extraOptions}");
    Run("cmake", $"--build \"{dir}\"");
}

// ctest: counts come from its JUnit report; a failure is counted, not thrown, so NUnit still runs.
void CTest(DirectoryPath dir, string label)
{
    var report = testResults.CombineWithFilePath($"ctest-{label}.xml");
    EnsureDirectoryExists(testResults);
    Information($"> ctest ({label})");
    StartProcess("ctest", new ProcessSettings
    {
        Arguments = $"--test-dir \"{dir}\" --output-on-failure --output-junit \"{report}\"",
        WorkingDirectory = root,
    });
    if (!FileExists(report))
        throw new Exception($"ctest ({label}) wrote no report: the native tests did not run");
    var suite = XDocument.Load(report.FullPath).Root;
    int total = (int)suite.Attribute("tests");
    int failures = (int)suite.Attribute("failures") + ((int?)suite.Attribute("errors") ?? 0);
    int skips = ((int?)suite.Attribute("skipped") ?? 0) + ((int?)suite.Attribute("disabled") ?? 0);
    passed += total - failures - skips;
    failed += failures;
    skipped += skips;
    Information($"ctest ({label}): {total - failures - skips} passed, {failures} failed, {skips} skipped");
}

void BindgenRun(string mode) =>
    Run("dotnet", $"run --project bindings/generator -c {configuration} -- --header native/include/psyne/psyne.h " +
                  $"--include native/include --out bindings/Psyne.Native.g.cs {mode}");

Task("Native")
    .Does(() => CMakeBuild(nativeDir, $"-DCMAKE_BUILD_TYPE={configuration}"));

Task("Bindings")
    .Description("Regenerates bindings/Psyne.Native.g.cs from psyne.h.")
    .Does(() => BindgenRun(""));

Task("CheckBindings")
    .Description("Fails when bindings/Psyne.Native.g.cs is not what the generator makes from psyne.h now.")
    .Does(() => BindgenRun("--check"));

Task("Build")
    .IsDependentOn("Native")
    .IsDependentOn("CheckBindings")
    .Does(() => Run("dotnet", $"build Psyne.sln -c {configuration} --nologo"));

Task("Pack")
    .IsDependentOn("Build")
    .Does(() =>
    {
        EnsureDirectoryExists(artifacts);
        DeleteFiles(GetFiles($"{artifacts}/Psyne.*nupkg"));
        Run("dotnet", $"pack managed/Psyne/Psyne.csproj -c {configuration} --no-build --nologo -o \"{artifacts}\"");
        // The psyne command as a dotnet tool (dotnet tool install -g Psyne.Cli --add-source artifacts).
        Run("dotnet", $"pack managed/Psyne.Cli/Psyne.Cli.csproj -c {configuration} --no-build --nologo -o \"{artifacts}\"");
    });

Task("NativeTest")
    .IsDependentOn("Native")
    .Does(() =>
    {
        CTest(nativeDir, "release");
        CMakeBuild(asanDir, "-DCMAKE_BUILD_TYPE=Debug -DPSYNE_SANITIZE=ON");
        CTest(asanDir, "asan-ubsan");
    });

// Each libFuzzer target runs briefly on every Test; a crash or leak fails it like a test.
Task("Fuzz")
    .Does(() =>
    {
        var fuzzDir = root.Combine("build/fuzz");
        if (!FileExists(fuzzDir.CombineWithFilePath("build.ninja")))
            Run("cmake", $"-S . -B \"{fuzzDir}\" -G Ninja -DCMAKE_C_COMPILER=clang -DPSYNE_FUZZ=ON -DPSYNE_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo");
        Run("cmake", $"--build \"{fuzzDir}\" --target fuzz_psyt make_psyt_seeds fuzz_records fuzz_zmtp make_zmtp_seeds");
        var corpus = fuzzDir.Combine("corpus-psyt");
        EnsureDirectoryExists(corpus);
        Run($"{fuzzDir}/native/fuzz/make_psyt_seeds", $"\"{corpus}\"");
        var zmtpCorpus = fuzzDir.Combine("corpus-zmtp");
        EnsureDirectoryExists(zmtpCorpus);
        Run($"{fuzzDir}/native/fuzz/make_zmtp_seeds", $"\"{zmtpCorpus}\"");
        var targets = new[]
        {
            ($"{fuzzDir}/native/fuzz/fuzz_psyt", $"-dict=native/fuzz/psyt.dict \"{corpus}\""),
            ($"{fuzzDir}/native/fuzz/fuzz_records", ""),
            ($"{fuzzDir}/native/fuzz/fuzz_zmtp", $"-dict=native/fuzz/zmtp.dict \"{zmtpCorpus}\""),
        };
        foreach (var (binary, extra) in targets)
        {
            string name = System.IO.Path.GetFileName(binary);
            Information($"> {name} for {fuzzSeconds} s");
            int code = StartProcess(binary, new ProcessSettings
            {
                Arguments = $"-max_total_time={fuzzSeconds} -print_final_stats=1 {extra}",
                WorkingDirectory = root,
            });
            if (code == 0) passed++; else failed++;
            Information($"fuzz {name}: {(code == 0 ? "no findings" : $"FAILED (exit {code})")}");
        }
    });

Task("Test")
    .IsDependentOn("Build")
    .IsDependentOn("NativeTest")
    .IsDependentOn("Fuzz")
    .IsDependentOn("Pack")
    .Does(() =>
    {
        var trx = testResults.CombineWithFilePath("nunit.trx");
        if (FileExists(trx)) DeleteFile(trx);
        StartProcess("dotnet", new ProcessSettings
        {
            Arguments = $"test tests/Psyne.Tests/Psyne.Tests.csproj -c {configuration} --no-build --nologo " +
                        $"--logger \"trx;LogFileName={trx}\" --logger \"console;verbosity=normal\"",
            WorkingDirectory = root,
        });
        if (!FileExists(trx))
            throw new Exception("dotnet test wrote no TRX report: the NUnit tests did not run");
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        var counters = XDocument.Load(trx.FullPath).Descendants(ns + "Counters").Single();
        int total = (int)counters.Attribute("total");
        int ok = (int)counters.Attribute("passed");
        int bad = (int)counters.Attribute("failed") + (int)counters.Attribute("error") + (int)counters.Attribute("timeout") + (int)counters.Attribute("aborted");
        Information($"NUnit: {ok} passed, {bad} failed, {total - ok - bad} skipped");
        passed += ok;
        failed += bad;
        skipped += total - ok - bad;
        testsRan = true;
    });

Task("Demo")
    .IsDependentOn("Build")
    .Does(() => Run("dotnet", $"\"{cliDll}\" demo"));

Task("Bench")
    .IsDependentOn("Build")
    .Does(() =>
    {
        EnsureDirectoryExists(artifacts);
        Run("dotnet", $"\"{cliDll}\" bench all");
        Run("dotnet", $"run -c {configuration} --project benchmarks/Psyne.Benchmarks --no-build -- --filter \"{benchFilter}\" " +
                      $"--artifacts \"{artifacts.Combine("benchmarks")}\"");
    });

RunTarget(target);

// The closing line CI reads: plain text, last, after Cake's task summary.
if (testsRan)
{
    Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
    if (failed > 0 || passed == 0)
        Environment.Exit(1);
}
