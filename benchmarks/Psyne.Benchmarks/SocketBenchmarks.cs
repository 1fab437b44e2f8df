using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Psyne.Benchmarks.Peers;

namespace Psyne.Benchmarks;

/// <summary>
/// Psyne's ZeroMQ-compatible sockets (Psyne.Sockets) over loopback tcp, two threads of one
/// process, against libzmq (the baseline of each category), NetMQ and raw System.Net.Sockets (the
/// ceilings); the 32 B category also shows Psyne over a unix socket and inproc, for information.
/// Every row is per message (OperationsPerInvoke); Allocated counts every thread of the process
/// (GC.GetTotalAllocatedBytes), so Psyne's rows show what its send and receive paths and its
/// connection threads allocate per message. The peers are shared with <c>psyne bench sockets</c>
/// (benchmarks/Peers/PsyneSocketPeers.cs, SocketPeers.cs, NetMqPeers.cs). A run needs
/// libzmq.so.5 (Debian: libzmq5); without it the libzmq rows fail in their setup with the reason.
/// Run: <c>--filter '*SocketBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SocketBenchmarks
{
    private const int SmallMessages = 100_000;
    private const int LargeMessages = 2_000;
    private const int RoundTripsPerInvoke = 1_000;
    private const int Small = 32;
    private const int Large = 64 << 10;

    private const string PushPull32 = "PUSH/PULL 32 B";
    private const string PushPull64K = "PUSH/PULL 64 KiB";
    private const string ReqRep = "REQ/REP 32 B round trip";

    private IThroughputPeer? _throughput;
    private IRoundTripPeer? _roundTrip;

    // ---- PUSH/PULL, 32 B ---------------------------------------------------------------------

    [GlobalSetup(Target = nameof(LibZmqPushPull32))]
    public void SetupLibZmqPushPull32() => _throughput = new LibZmqPushPull(Small);

    [GlobalSetup(Target = nameof(NetMqPushPull32))]
    public void SetupNetMqPushPull32() => _throughput = new NetMqTcpPushPull(Small);

    [GlobalSetup(Target = nameof(RawTcpFramed32))]
    public void SetupRawTcpFramed32() => _throughput = new RawTcpFramed(Small);

    [BenchmarkCategory(PushPull32), Benchmark(Baseline = true, OperationsPerInvoke = SmallMessages)]
    public void LibZmqPushPull32() => _throughput!.Send(SmallMessages);

    [BenchmarkCategory(PushPull32), Benchmark(OperationsPerInvoke = SmallMessages)]
    public void NetMqPushPull32() => _throughput!.Send(SmallMessages);

    /// <summary>The batching ceiling: 32 B messages framed as ZMTP frames them, packed into 64 KiB sends.</summary>
    [BenchmarkCategory(PushPull32), Benchmark(OperationsPerInvoke = SmallMessages)]
    public void RawTcpFramed32() => _throughput!.Send(SmallMessages);

    [GlobalSetup(Target = nameof(PsynePushPull32))]
    public void SetupPsynePushPull32() => _throughput = new PsyneTcpPushPull(Small);

    [GlobalSetup(Target = nameof(PsyneUnixPushPull32))]
    public void SetupPsyneUnixPushPull32() => _throughput = new PsyneUnixPushPull(Small);

    [GlobalSetup(Target = nameof(PsyneInprocPushPull32))]
    public void SetupPsyneInprocPushPull32() => _throughput = new PsyneInprocPushPull(Small);

    /// <summary>Psyne.Sockets over tcp: PUSH sends a reused array, PULL checks each frame in place (zero-copy view).</summary>
    [BenchmarkCategory(PushPull32), Benchmark(OperationsPerInvoke = SmallMessages)]
    public void PsynePushPull32() => _throughput!.Send(SmallMessages);

    /// <summary>For information: the same over a unix socket.</summary>
    [BenchmarkCategory(PushPull32), Benchmark(OperationsPerInvoke = SmallMessages)]
    public void PsyneUnixPushPull32() => _throughput!.Send(SmallMessages);

    /// <summary>For information: the same in process (inproc://, no wire).</summary>
    [BenchmarkCategory(PushPull32), Benchmark(OperationsPerInvoke = SmallMessages)]
    public void PsyneInprocPushPull32() => _throughput!.Send(SmallMessages);

    // ---- PUSH/PULL, 64 KiB -------------------------------------------------------------------

    [GlobalSetup(Target = nameof(LibZmqPushPull64K))]
    public void SetupLibZmqPushPull64K() => _throughput = new LibZmqPushPull(Large);

    [GlobalSetup(Target = nameof(NetMqPushPull64K))]
    public void SetupNetMqPushPull64K() => _throughput = new NetMqTcpPushPull(Large);

    [GlobalSetup(Target = nameof(RawTcpBlocks64K))]
    public void SetupRawTcpBlocks64K() => _throughput = new RawTcpBlocks(Large);

    [BenchmarkCategory(PushPull64K), Benchmark(Baseline = true, OperationsPerInvoke = LargeMessages)]
    public void LibZmqPushPull64K() => _throughput!.Send(LargeMessages);

    [BenchmarkCategory(PushPull64K), Benchmark(OperationsPerInvoke = LargeMessages)]
    public void NetMqPushPull64K() => _throughput!.Send(LargeMessages);

    /// <summary>The bandwidth ceiling: 64 KiB blocks, one send() each.</summary>
    [BenchmarkCategory(PushPull64K), Benchmark(OperationsPerInvoke = LargeMessages)]
    public void RawTcpBlocks64K() => _throughput!.Send(LargeMessages);

    [GlobalSetup(Target = nameof(PsynePushPull64K))]
    public void SetupPsynePushPull64K() => _throughput = new PsyneTcpPushPull(Large);

    /// <summary>Psyne.Sockets over tcp, 64 KiB frames.</summary>
    [BenchmarkCategory(PushPull64K), Benchmark(OperationsPerInvoke = LargeMessages)]
    public void PsynePushPull64K() => _throughput!.Send(LargeMessages);

    // ---- REQ/REP round trip ------------------------------------------------------------------

    [GlobalSetup(Target = nameof(LibZmqReqRep32))]
    public void SetupLibZmqReqRep32() => _roundTrip = new LibZmqReqRep(Small);

    [GlobalSetup(Target = nameof(NetMqReqRep32))]
    public void SetupNetMqReqRep32() => _roundTrip = new NetMqTcpReqRep(Small);

    [GlobalSetup(Target = nameof(RawTcpPingPong1))]
    public void SetupRawTcpPingPong1() => _roundTrip = new RawTcpPingPong();

    [BenchmarkCategory(ReqRep), Benchmark(Baseline = true, OperationsPerInvoke = RoundTripsPerInvoke)]
    public void LibZmqReqRep32() => RoundTrips(RoundTripsPerInvoke);

    [BenchmarkCategory(ReqRep), Benchmark(OperationsPerInvoke = RoundTripsPerInvoke)]
    public void NetMqReqRep32() => RoundTrips(RoundTripsPerInvoke);

    /// <summary>The latency floor: one byte echoed by another thread.</summary>
    [BenchmarkCategory(ReqRep), Benchmark(OperationsPerInvoke = RoundTripsPerInvoke)]
    public void RawTcpPingPong1() => RoundTrips(RoundTripsPerInvoke);

    [GlobalSetup(Target = nameof(PsyneReqRep32))]
    public void SetupPsyneReqRep32() => _roundTrip = new PsyneTcpReqRep(Small);

    /// <summary>Psyne.Sockets REQ and REP over tcp; the reply is checked in place.</summary>
    [BenchmarkCategory(ReqRep), Benchmark(OperationsPerInvoke = RoundTripsPerInvoke)]
    public void PsyneReqRep32() => RoundTrips(RoundTripsPerInvoke);

    private void RoundTrips(int count)
    {
        IRoundTripPeer peer = _roundTrip!;
        for (int i = 0; i < count; i++)
            peer.RoundTrip();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        long errors = _throughput?.Errors ?? 0;
        _throughput?.Dispose();
        _roundTrip?.Dispose();
        _throughput = null;
        _roundTrip = null;
        NetMqPeers.Cleanup();
        if (errors != 0)
            throw new InvalidOperationException($"the receiver found {errors} wrong message(s)");
    }
}
