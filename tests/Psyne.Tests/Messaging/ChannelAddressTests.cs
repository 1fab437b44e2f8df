using Psyne.Messaging;

namespace Psyne.Tests.Messaging;

public class ChannelAddressTests
{
    [TestCase("inproc://jobs", ChannelTransport.InProcess, "jobs")]
    [TestCase("ipc://jobs", ChannelTransport.Ipc, "jobs")]
    [TestCase("IPC://a.b_c-9", ChannelTransport.Ipc, "a.b_c-9")]
    public void ParsesBothSchemes(string uri, ChannelTransport transport, string name)
    {
        ChannelAddress a = ChannelAddress.Parse(uri);
        Assert.That(a.Transport, Is.EqualTo(transport));
        Assert.That(a.Name, Is.EqualTo(name));
        Assert.That(ChannelAddress.Parse(a.ToString()), Is.EqualTo(a));
    }

    [TestCase("", "empty")]
    [TestCase("jobs", "not a channel URI")]
    [TestCase("://jobs", "not a channel URI")]
    [TestCase("http://jobs", "unknown scheme 'http'")]
    [TestCase("ipc://", "empty")]
    [TestCase("ipc://.hidden", "must not start with '.'")]
    [TestCase("ipc://a/b", "contains '/'")]
    [TestCase("inproc://a b", "contains ' '")]
    [TestCase("ipc://jobs?capacity=4", "contains '?'")]
    public void RejectsMalformedUris(string uri, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ChannelAddress.Parse(uri))!;
        Assert.That(e.Message, Does.Contain(expected));
        Assert.That(ChannelAddress.TryParse(uri, out _), Is.False);
        Assert.Throws<ArgumentException>(() => Channel.Open(uri));
    }

    [Test]
    public void RejectsTooLongNames()
    {
        string name = new('a', ChannelAddress.MaxNameLength + 1);
        var e = Assert.Throws<ArgumentException>(() => ChannelAddress.Parse("ipc://" + name))!;
        Assert.That(e.Message, Does.Contain("at most 100"));
        Assert.That(ChannelAddress.Parse("ipc://" + name[1..]).Name, Has.Length.EqualTo(100));
    }

    [TestCase("tcp://localhost:5555")]
    [TestCase("unix:///run/psyne.sock")]
    [TestCase("quic://host:1")]
    public void PlannedTransportsAreUnsupportedNotUnknown(string uri)
    {
        var e = Assert.Throws<PsyneUnsupportedException>(() => Channel.Open(uri))!;
        Assert.That(e.Message, Does.Contain("not implemented yet"));
    }

    [Test]
    public void NullUriIsAnArgumentNullException() =>
        Assert.Throws<ArgumentNullException>(() => ChannelAddress.Parse(null!));
}
