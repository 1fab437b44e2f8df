using Psyne.Interop;

namespace Psyne.Tests.Core;

[TestFixture]
public class CapabilitiesTests
{
    [Test]
    public void Version_is_the_one_psyne_h_defines()
    {
        Capabilities caps = Capabilities.Detect();
        Assert.That(caps.Version, Is.EqualTo($"{PsyneNative.PSYNE_VERSION_MAJOR}.{PsyneNative.PSYNE_VERSION_MINOR}.{PsyneNative.PSYNE_VERSION_PATCH}"));
        Assert.That(typeof(Capabilities).Assembly.GetName().Version!.ToString(3), Is.EqualTo(caps.Version),
            "the managed assembly and the native library must be released together");
    }

    [Test]
    public void The_CPU_is_described_and_the_ISA_is_consistent_with_its_features()
    {
        Capabilities caps = Capabilities.Detect();
        Assert.That(caps.Cpu.LogicalCpus, Is.EqualTo(Environment.ProcessorCount));
        Assert.That(caps.SelectedIsa, Is.LessThanOrEqualTo(caps.DetectedIsa));
        if (caps.DetectedIsa >= Isa.Avx2)
            Assert.That(caps.Cpu.Features, Does.Contain("avx2").And.Contain("fma").And.Contain("sse4.2"));
        if (caps.DetectedIsa >= Isa.Avx512)
            Assert.That(caps.Cpu.Features, Does.Contain("avx512f").And.Contain("avx512bw"));
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)
            Assert.That(caps.DetectedIsa, Is.GreaterThanOrEqualTo(Isa.Avx2), ".NET sees AVX2, so should libpsyne");
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && System.Runtime.Intrinsics.X86.Avx512DQ.IsSupported)
            Assert.That(caps.DetectedIsa, Is.EqualTo(Isa.Avx512), ".NET sees AVX-512, so should libpsyne");
    }

    [Test]
    public void Every_optional_library_is_reported_with_a_reason()
    {
        Capabilities caps = Capabilities.Detect();
        Assert.That(caps.SystemLibraries.Select(l => l.Name),
            Is.EquivalentTo(new[] { "libfabric", "libibverbs", "UCX", "ngtcp2", "CUDA driver", "Vulkan loader", "libzmq" }));
        foreach (SystemLibraryStatus lib in caps.SystemLibraries)
        {
            Assert.That(lib.Detail, Is.Not.Empty, lib.Name);
            if (!lib.Available)
                Assert.That(lib.Detail, Does.Contain("install").Or.Contain("no usable").Or.Contain("not available"), lib.Name);
        }
        // The probe must agree with the dynamic loader.
        foreach (SystemLibraryStatus lib in caps.SystemLibraries.Where(l => l.Name != "CUDA driver"))
        {
            bool loads = System.Runtime.InteropServices.NativeLibrary.TryLoad(lib.Library, out nint h);
            if (loads) System.Runtime.InteropServices.NativeLibrary.Free(h);
            Assert.That(lib.Available, Is.EqualTo(loads), $"{lib.Name} ({lib.Library})");
        }
    }
}
