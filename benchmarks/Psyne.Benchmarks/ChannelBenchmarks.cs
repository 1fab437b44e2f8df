using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using NetMQ;
using NetMQ.Sockets;
using Psyne.Benchmarks.Peers;

namespace Psyne.Benchmarks;

/// <summary>
/// In-process SPSC throughput, 64-byte messages, a producer (the benchmark thread) and a consumer
/// thread that checks every message: System.Threading.Channels bounded(1024) (the baseline),
/// NetMQ inproc PUSH/PULL (high-water mark 1000), Psyne inproc rings of 64 KiB (about 900 records)
/// and 16 KiB (one that stays in L1), records filled and read in place, the 64 KiB ring moving
/// structs 64 at a time with WriteBatch/TryReadBatch, and the machine's limit for the per-message
/// protocol: a hand-rolled ring of the same 16 KiB and records (HandRolledRing). Mean is per
/// message; Allocated is per message, both threads.
/// <c>psyne bench channel</c> adds the ipc cases (two processes), round trips and 1 MiB messages.
/// </summary>
[MemoryDiagnoser]
public class ChannelBenchmarks
{
    private const int Messages = 100_000;

    private ThreadingChannelsSpsc _threadingChannels = null!;
    private NetMqPushPull _netMq = null!;
    private PsyneInprocSpsc _psyne = null!;
    private PsyneInprocSpsc _psyneBatch = null!;
    private PsyneInprocSpsc _psyneL1 = null!;
    private HandRolledRing _handRolled = null!;

    [GlobalSetup]
    public void Setup()
    {
        _threadingChannels = new ThreadingChannelsSpsc(capacity: 1024);
        _netMq = new NetMqPushPull($"bench-{Environment.ProcessId}");
        _psyne = new PsyneInprocSpsc($"bdn-{Environment.ProcessId}", capacity: 64 << 10, size: 64);
        _psyneBatch = new PsyneInprocSpsc($"bdn-batch-{Environment.ProcessId}", capacity: 64 << 10, size: 64, batch: true);
        _psyneL1 = new PsyneInprocSpsc($"bdn-l1-{Environment.ProcessId}", capacity: 16 << 10, size: 64);
        _handRolled = new HandRolledRing(16 << 10);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _threadingChannels.Dispose();
        _netMq.Dispose();
        _psyne.Dispose();
        _psyneBatch.Dispose();
        _psyneL1.Dispose();
        _handRolled.Dispose();
        if (_threadingChannels.Errors + _netMq.Errors + _psyne.Errors + _psyneBatch.Errors + _psyneL1.Errors + _handRolled.Errors != 0)
            throw new InvalidOperationException("a consumer received a wrong message");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public void ThreadingChannels() => _threadingChannels.Send(Messages);

    [Benchmark(OperationsPerInvoke = Messages)]
    public void NetMqInproc() => _netMq.Send(Messages);

    /// <summary>Each record reserved, filled, read and released in place: 0 copies.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public void PsyneInproc() => _psyne.Send(Messages);

    /// <summary>As <see cref="PsyneInproc"/> on a 16 KiB ring, which stays in the L1 data caches.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public void PsyneInprocL1Ring() => _psyneL1.Send(Messages);

    /// <summary>The same records on the same 16 KiB by a hand-rolled ring with no API: the machine's limit for this protocol.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public void HandRolledL1Ring() => _handRolled.Send(Messages);

    /// <summary>64-byte structs moved 64 at a time with WriteBatch/TryReadBatch: one copy each way, as the peers make.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public void PsyneInprocBatch() => _psyneBatch.Send(Messages);

    /// <summary>NetMQ's inproc PUSH/PULL as its users write it: SendFrame and ReceiveFrameBytes.</summary>
    private sealed class NetMqPushPull : IDisposable
    {
        private readonly PushSocket _push;
        private readonly PullSocket _pull;
        private readonly Thread _consumer;
        private readonly byte[] _frame = new byte[64];
        private long _sent;
        private PaddedCounter _consumed;
        private long _errors;
        private volatile bool _stop;

        public NetMqPushPull(string name)
        {
            _push = new PushSocket();
            _push.Bind($"inproc://{name}");
            _pull = new PullSocket();
            _pull.Connect($"inproc://{name}");
            _consumer = new Thread(Consume) { IsBackground = true, Name = "netmq-consumer" };
            _consumer.Start();
        }

        public long Errors => Interlocked.Read(ref _errors);

        public void Send(long count)
        {
            long sent = _sent;
            for (long i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(_frame, sent++);
                _push.SendFrame(_frame);
            }
            _sent = sent;
            var drain = new SpinWait();
            while (Volatile.Read(ref _consumed.Value) != sent)
                drain.SpinOnce(sleep1Threshold: -1);
        }

        private void Consume()
        {
            long expected = 0;
            while (!_stop)
            {
                if (!_pull.TryReceiveFrameBytes(TimeSpan.FromMilliseconds(50), out byte[]? frame))
                    continue;
                if (BinaryPrimitives.ReadInt64LittleEndian(frame) != expected)
                    Interlocked.Increment(ref _errors);
                Volatile.Write(ref _consumed.Value, ++expected);
            }
        }

        public void Dispose()
        {
            _stop = true;
            _consumer.Join();
            _push.Dispose();
            _pull.Dispose();
            NetMQConfig.Cleanup(block: false);
        }
    }
}
