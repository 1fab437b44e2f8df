using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne;

/// <summary>
/// What this machine and this build of libpsyne can do: version, CPU features, the ISA
/// detected and selected, and each optional system library with the reason it is or is
/// not usable. <see cref="Detect"/> probes once per call (system libraries are opened
/// on the first probe and cached by libpsyne); it allocates.
/// </summary>
public sealed class Capabilities
{
    private Capabilities(string version, CpuDescription cpu, Isa detectedIsa, Isa selectedIsa,
                         Crc32CVariant crc32CVariant, IReadOnlyList<SystemLibraryStatus> systemLibraries)
    {
        Version = version;
        Cpu = cpu;
        DetectedIsa = detectedIsa;
        SelectedIsa = selectedIsa;
        Crc32CVariant = crc32CVariant;
        SystemLibraries = systemLibraries;
    }

    /// <summary>libpsyne's version, "major.minor.patch".</summary>
    public string Version { get; }

    /// <summary>The processor.</summary>
    public CpuDescription Cpu { get; }

    /// <summary>The best ISA this CPU runs.</summary>
    public Isa DetectedIsa { get; }

    /// <summary>The ISA in use (lowered by <c>PSYNE_ISA</c> or <see cref="PsyneRuntime.SelectIsa"/>).</summary>
    public Isa SelectedIsa { get; }

    /// <summary>The CRC32C variant in use.</summary>
    public Crc32CVariant Crc32CVariant { get; }

    /// <summary>The optional system libraries Psyne loads at run time.</summary>
    public IReadOnlyList<SystemLibraryStatus> SystemLibraries { get; }

    /// <summary>Probes the machine.</summary>
    /// <exception cref="NativeLibraryNotFoundException">libpsyne cannot be loaded.</exception>
    public static unsafe Capabilities Detect()
    {
        NativeRuntime.EnsureInitialized();
        psyne_cpu_info info;
        NativeStatus.ThrowIfFailed(PsyneNative.psyne_cpu_info_get(&info));
        var cpu = new CpuDescription(
            Utf8(info.vendor, 16), Utf8(info.brand, 64), (int)info.logical_cpus, (int)info.cache_line_bytes,
            CpuDescription.FeatureNames(info.features));

        var libraries = new List<SystemLibraryStatus>();
        for (int i = 0; i < (int)psyne_syslib.PSYNE_SYSLIB_COUNT; i++)
        {
            psyne_syslib_info lib;
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_syslib_probe((psyne_syslib)i, &lib));
            libraries.Add(new SystemLibraryStatus(
                Utf8(lib.name, 32), lib.available != 0, Utf8(lib.soname, 64), Utf8(lib.detail, 256)));
        }

        return new Capabilities(
            Marshal.PtrToStringUTF8((nint)PsyneNative.psyne_version_string()) ?? "?",
            cpu, (Isa)info.detected_isa, (Isa)info.selected_isa,
            (Crc32CVariant)PsyneNative.psyne_crc32c_variant_selected(), libraries);
    }

    private static unsafe string Utf8(byte* text, int capacity) =>
        System.Text.Encoding.UTF8.GetString(text, new ReadOnlySpan<byte>(text, capacity).IndexOf((byte)0) is var n and >= 0 ? n : capacity);
}

/// <summary>The processor as libpsyne sees it.</summary>
/// <param name="Vendor">The CPUID vendor, e.g. GenuineIntel or AuthenticAMD.</param>
/// <param name="Brand">The marketing name; may be empty.</param>
/// <param name="LogicalCpus">Online logical processors.</param>
/// <param name="CacheLineBytes">The L1 data cache line size.</param>
/// <param name="Features">Features libpsyne uses that the CPU and OS support, e.g. avx2, avx512vnni.</param>
public sealed record CpuDescription(string Vendor, string Brand, int LogicalCpus, int CacheLineBytes, IReadOnlyList<string> Features)
{
    private static readonly (psyne_cpu_feature Bit, string Name)[] Names =
    [
        (psyne_cpu_feature.PSYNE_CPU_SSE42, "sse4.2"), (psyne_cpu_feature.PSYNE_CPU_PCLMULQDQ, "pclmulqdq"),
        (psyne_cpu_feature.PSYNE_CPU_AVX, "avx"), (psyne_cpu_feature.PSYNE_CPU_AVX2, "avx2"),
        (psyne_cpu_feature.PSYNE_CPU_FMA, "fma"), (psyne_cpu_feature.PSYNE_CPU_BMI2, "bmi2"),
        (psyne_cpu_feature.PSYNE_CPU_AVX512F, "avx512f"), (psyne_cpu_feature.PSYNE_CPU_AVX512BW, "avx512bw"),
        (psyne_cpu_feature.PSYNE_CPU_AVX512VL, "avx512vl"), (psyne_cpu_feature.PSYNE_CPU_AVX512DQ, "avx512dq"),
        (psyne_cpu_feature.PSYNE_CPU_AVX512VNNI, "avx512vnni"), (psyne_cpu_feature.PSYNE_CPU_AVX512VBMI, "avx512vbmi"),
        (psyne_cpu_feature.PSYNE_CPU_VPCLMULQDQ, "vpclmulqdq"), (psyne_cpu_feature.PSYNE_CPU_AVXVNNI, "avxvnni"),
        (psyne_cpu_feature.PSYNE_CPU_GFNI, "gfni"), (psyne_cpu_feature.PSYNE_CPU_NEON, "neon"),
    ];

    internal static IReadOnlyList<string> FeatureNames(ulong bits) =>
        Names.Where(n => (bits & (ulong)(int)n.Bit) != 0).Select(n => n.Name).ToArray();
}

/// <summary>An optional system library and whether Psyne can use it.</summary>
/// <param name="Name">Short name, e.g. libfabric or CUDA driver.</param>
/// <param name="Available">True when the library loaded (for CUDA: and a device answered).</param>
/// <param name="Library">The file loaded, or the first one tried.</param>
/// <param name="Detail">What was loaded, or why not and how to install it.</param>
public sealed record SystemLibraryStatus(string Name, bool Available, string Library, string Detail);
