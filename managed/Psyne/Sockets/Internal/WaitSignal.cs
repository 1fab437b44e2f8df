namespace Psyne.Sockets.Internal;

/// <summary>
/// "Something changed" for one waiting thread: a producer calls <see cref="Notify"/> after it
/// publishes; it costs a load unless someone is asleep. The waiter announces itself, re-checks
/// its condition, then sleeps, so a notification between the check and the sleep is never lost
/// (the announcement is a full fence, and so is every publish that precedes a notify).
/// </summary>
internal sealed class WaitSignal
{
    private readonly ManualResetEventSlim _event = new(false, spinCount: 0);
    private int _waiting;

    /// <summary>Wakes the waiter if one is asleep (or about to be).</summary>
    public void Notify()
    {
        if (Volatile.Read(ref _waiting) != 0)
            _event.Set();
    }

    /// <summary>Wakes the waiter unconditionally (close, attach, detach: rare events).</summary>
    public void NotifyAlways() => _event.Set();

    /// <summary>
    /// Waits until <paramref name="ready"/> holds or the deadline passes (a
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp; <see cref="long.MaxValue"/> for none).
    /// Spins briefly first: a peer that keeps up answers within microseconds, and a sleep costs
    /// tens of them on a virtual machine.
    /// </summary>
    /// <returns>False when the deadline passed with the condition still false.</returns>
    public bool Wait<TState>(Func<TState, bool> ready, TState state, long deadline, int spinIterations = 64)
    {
        var spinner = new SpinWait();
        for (int i = 0; i < spinIterations; i++)
        {
            if (ready(state))
                return true;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            _event.Reset();
            Interlocked.Exchange(ref _waiting, 1);
            try
            {
                if (ready(state))
                    return true;
                int timeoutMs = Deadlines.RemainingMilliseconds(deadline);
                if (timeoutMs == 0)
                    return false;
                _event.Wait(timeoutMs);
            }
            finally
            {
                Volatile.Write(ref _waiting, 0);
            }
        }
    }
}

/// <summary>Deadlines as <see cref="System.Diagnostics.Stopwatch"/> timestamps.</summary>
internal static class Deadlines
{
    public const long None = long.MaxValue;

    public static long From(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
            return None;
        if (timeout < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "A timeout is zero or more, or Timeout.InfiniteTimeSpan.");
        double ticks = timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        return ticks >= long.MaxValue - now ? None : now + (long)ticks;
    }

    /// <summary>Milliseconds to wait: 0 when passed, -1 (infinite) without a deadline, capped so a long wait re-checks now and then.</summary>
    public static int RemainingMilliseconds(long deadline, int cap = 1000)
    {
        if (deadline == None)
            return cap;
        long left = deadline - System.Diagnostics.Stopwatch.GetTimestamp();
        if (left <= 0)
            return 0;
        long ms = left * 1000 / System.Diagnostics.Stopwatch.Frequency + 1;
        return (int)Math.Min(ms, cap);
    }

    public static bool Passed(long deadline) =>
        deadline != None && System.Diagnostics.Stopwatch.GetTimestamp() >= deadline;
}
