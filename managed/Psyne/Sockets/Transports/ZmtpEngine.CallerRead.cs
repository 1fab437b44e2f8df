using System.Diagnostics;
using Psyne.Sockets.Internal;

namespace Psyne.Sockets.Transports;

// Reading on the application's thread. A socket with one connection whose application waits in
// Receive has a thread hop per message it does not need: the connection's receiver thread reads,
// queues and wakes the application, which was only waiting. So when the application keeps
// coming back for more, the receiver thread steps aside and the application's thread reads the
// socket itself (decoding into its own queue), as a plain recv() loop would; when it stops
// coming (10 ms), the receiver thread takes reading back, so heartbeats, backpressure and
// errors are handled as before.
//
// Reading belongs to one thread at a time, passed with a compare-and-swap on _readMode:
// 0 the receiver thread reads; 1 the application may read (the receiver thread is parked);
// 2 the application is reading now.
internal sealed partial class ZmtpEngine
{
    private const int CallerReadTimeoutMs = 20;
    private static readonly long IdleTicks = Stopwatch.Frequency / 100; // 10 ms

    /// <summary>Returned by <see cref="ProcessBuffered"/> when the application's queue is full on its own thread.</summary>
    private static readonly string Stalled = string.Concat("(stalled", ")");

    private readonly ManualResetEventSlim _receiverPark = new(false, spinCount: 0);
    private int _readMode;
    private volatile bool _callerWants;
    private volatile bool _callerReading;
    private volatile string? _callerEnd;
    private long _lastCallerRead;

    /// <summary>Patterns whose application thread may read: every one that receives data (publishers only receive subscriptions).</summary>
    private bool CallerMayRead => _owner.Type is not (SocketType.Pub or SocketType.XPub or SocketType.Push);

    /// <summary>
    /// Called by the application's thread when its queue from this connection is empty: reads and
    /// decodes once (waiting at most <see cref="CallerReadTimeoutMs"/>) if reading has been handed
    /// over, else asks for it. True when the caller should look at its queue again.
    /// </summary>
    public bool TryReadInline()
    {
        Pipe? pipe = _pipe;
        if (pipe is null || _closing || _callerEnd is not null || !CallerMayRead)
            return false;
        if (Volatile.Read(ref _readMode) == 0)
        {
            _callerWants = true; // the receiver thread hands over after its current read
            return false;
        }
        if (Interlocked.CompareExchange(ref _readMode, 2, 1) != 1)
            return false;
        _lastCallerRead = Stopwatch.GetTimestamp();
        _callerReading = true;
        try
        {
            string? problem = ProcessBuffered(pipe);
            if (problem is null && pipe.In.QueuedMessages == 0)
            {
                int want = _recv.Length - _filled;
                if (_afterLargeFrame)
                    want = Math.Min(want, AfterLargeRead);
                int n = _stream.Receive(_recv, _filled, want);
                _afterLargeFrame = false;
                if (n == 0)
                {
                    problem = EndOfStream();
                }
                else if (n > 0)
                {
                    _filled += n;
                    _lastReceived = Stopwatch.GetTimestamp();
                    problem = ProcessBuffered(pipe);
                }
            }
            if (problem is not null && !ReferenceEquals(problem, Stalled))
                _callerEnd = problem;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _callerEnd = _closeReason ?? e.Message;
        }
        finally
        {
            _callerReading = false;
            _lastCallerRead = Stopwatch.GetTimestamp();
            Volatile.Write(ref _readMode, 1);
            if (_callerEnd is not null)
                _receiverPark.Set();
        }
        return true;
    }

    /// <summary>
    /// The receiver thread's side: hands reading to the application and waits, checking
    /// heartbeats, until the application stops reading, the connection ends under its read, or the
    /// connection is closed. Null to go on reading; otherwise why the connection ended.
    /// </summary>
    private string? ParkForCaller(bool heartbeat)
    {
        _stream.ReceiveTimeoutMs = CallerReadTimeoutMs;
        Volatile.Write(ref _readMode, 1);
        while (true)
        {
            _receiverPark.Wait(10);
            _receiverPark.Reset();
            string? problem = _callerEnd ?? (_closing ? _closeReason ?? "closed" : null);
            if (problem is null && (heartbeat || _peerTtlTicks > 0))
                problem = Heartbeat();
            bool idle = Volatile.Read(ref _readMode) == 1 && Stopwatch.GetTimestamp() - _lastCallerRead > IdleTicks;
            if (problem is null && !idle)
                continue;
            if (problem is not null)
                _stream.Shutdown(); // ends a read the application may be in
            // Take reading back (an application read in progress ends within its timeout).
            var spinner = new SpinWait();
            while (Interlocked.CompareExchange(ref _readMode, 0, 1) != 1)
                spinner.SpinOnce();
            _callerWants = false;
            if (problem is not null)
                return problem;
            _stream.ReceiveTimeoutMs = heartbeat ? (int)Math.Max(1, _options.HeartbeatInterval.TotalMilliseconds / 2) : 0;
            return null;
        }
    }

    private string EndOfStream()
    {
        if (_closing)
            return _closeReason ?? "closed";
        return _filled > _start
            ? $"the peer closed the connection in the middle of a frame ({_filled - _start} bytes of it received)"
            : _midMessageIn ? "the peer closed the connection in the middle of a multipart message (the part received is discarded)"
            : "the peer closed the connection";
    }
}
