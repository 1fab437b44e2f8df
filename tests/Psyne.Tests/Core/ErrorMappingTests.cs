using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Tests.Core;

/// <summary>One typed exception per native status, and the public codes in step with psyne.h.</summary>
[TestFixture]
public class ErrorMappingTests
{
    [Test]
    public void Public_error_codes_have_the_values_of_psyne_status()
    {
        foreach (psyne_status status in Enum.GetValues<psyne_status>())
        {
            string expectedName = status == psyne_status.PSYNE_OK
                ? nameof(PsyneErrorCode.None)
                : string.Concat(status.ToString()["PSYNE_E_".Length..].Split('_').Select(w => w[0] + w[1..].ToLowerInvariant()));
            var code = (PsyneErrorCode)(int)status;
            Assert.That(Enum.IsDefined(code), $"{status} has no PsyneErrorCode");
            Assert.That(code.ToString(), Is.EqualTo(expectedName).IgnoreCase, $"{status}");
        }
        Assert.That(Enum.GetValues<PsyneErrorCode>(), Has.Length.EqualTo(Enum.GetValues<psyne_status>().Length));
    }

    [Test]
    public void Every_failure_status_maps_to_its_own_exception_type_carrying_the_message()
    {
        var types = new HashSet<Type>();
        foreach (psyne_status status in Enum.GetValues<psyne_status>().Where(s => s != psyne_status.PSYNE_OK))
        {
            PsyneException e = NativeStatus.Create(status, "the message");
            Assert.That(e.ErrorCode, Is.EqualTo((PsyneErrorCode)(int)status));
            Assert.That(e.Message, Is.EqualTo("the message"));
            Assert.That(e.GetType(), Is.Not.EqualTo(typeof(PsyneException)), $"{status} needs a typed exception");
            Assert.That(types.Add(e.GetType()), $"{status} shares its exception type");
        }
    }

    [Test]
    public void A_native_failure_carries_libpsynes_thread_local_message()
    {
        var e = Assert.Throws<PsyneArgumentException>(() => NativeBuffer.Allocate(64, alignment: 48));
        Assert.That(e!.Message, Does.Contain("alignment 48").And.Contain("power of two"));
    }
}
