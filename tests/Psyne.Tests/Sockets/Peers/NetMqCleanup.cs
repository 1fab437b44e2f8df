using NetMQ;

namespace Psyne.Tests.Sockets;

/// <summary>Ends NetMQ's global context (and its threads) once every test under Psyne.Tests.Sockets has run.</summary>
[SetUpFixture]
public sealed class NetMqCleanup
{
    [OneTimeTearDown]
    public void Cleanup() => NetMQConfig.Cleanup(block: false);
}
