using System.Buffers.Binary;
using Psyne.Sockets;
using static Psyne.Tests.Sockets.SocketTestSupport;

namespace Psyne.Tests.Sockets;

/// <summary>
/// A socket with one connection reads on the application's thread while the application waits
/// in Receive, and hands reading back to the connection's thread when it pauses. These tests
/// move reading back and forth mid-stream and check nothing is lost, reordered or torn.
/// </summary>
[TestFixture("tcp")]
[TestFixture("unix")]
[TestFixture("ipc")]
[CancelAfter(120_000)]
public class CallerReadTests(string transport)
{
    private static int SizeOf(int i) => (i % 7) switch
    {
        0 => 40 * 1024,   // read into a buffer of its own
        3 => 100 * 1024,
        5 => 0,
        _ => 8 + i % 300,
    };

    [Test]
    public void MixedSizesWithPausesAndATinyHighWaterMark_ArriveWholeAndInOrder()
    {
        // RcvHWM 3: one read on the application's thread holds far more than fits, so it must stop
        // and come back for the rest; the pauses make the connection's thread take reading back.
        using var pull = new PullSocket(Options(o => o.ReceiveHighWatermark = 3));
        string ep = pull.Bind(Endpoint(transport));
        using var push = new PushSocket(Options(o => o.SendHighWatermark = 100_000));
        push.Connect(ep);
        const int count = 3000;
        var sender = Task.Run(() =>
        {
            byte[] buffer = new byte[100 * 1024];
            for (int i = 0; i < count; i++)
            {
                int size = SizeOf(i);
                if (size >= 4)
                    BinaryPrimitives.WriteInt32LittleEndian(buffer, i);
                push.Send(buffer.AsSpan(0, size), more: true);   // a two-frame message each time
                push.Send(BitConverter.GetBytes(i));
            }
        });
        for (int i = 0; i < count; i++)
        {
            if (i % 500 == 250)
                Thread.Sleep(30); // longer than the hand-back delay
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame first), Is.True, $"message {i} missing");
            Assert.That(first.Length, Is.EqualTo(SizeOf(i)), $"message {i}: first frame size");
            Assert.That(first.More, Is.True);
            if (first.Length >= 4)
                Assert.That(BinaryPrimitives.ReadInt32LittleEndian(first.Data), Is.EqualTo(i));
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame second), Is.True);
            Assert.That(BitConverter.ToInt32(second.Data), Is.EqualTo(i));
            Assert.That(second.More, Is.False);
        }
        Assert.That(sender.Wait(Patience), Is.True);
    }

    [Test]
    public void PeerGoingAwayWhileTheApplicationReads_EndsTheWaitAndTheSocketRecovers()
    {
        using var pull = new PullSocket(Options());
        string ep = pull.Bind(Endpoint(transport));
        var push = new PushSocket(Options());
        push.Connect(ep);
        for (int i = 0; i < 100; i++)
            push.Send(BitConverter.GetBytes(i));
        for (int i = 0; i < 100; i++)
        {
            Assert.That(pull.TryReceive(Patience, out ReceivedFrame f), Is.True);
            Assert.That(BitConverter.ToInt32(f.Data), Is.EqualTo(i));
        }
        // The application now waits in Receive (reading on its own thread) when the peer leaves.
        var waiting = Task.Run(() => pull.TryReceive(TimeSpan.FromSeconds(2), out _));
        Thread.Sleep(100);
        push.Dispose();
        Assert.That(waiting.Wait(Patience), Is.True, "the wait did not end");
        Assert.That(waiting.Result, Is.False);
        using var second = new PushSocket(Options());
        second.Connect(ep);
        second.Send("again");
        Assert.That(ExpectText(pull), Is.EqualTo("again"));
    }
}
