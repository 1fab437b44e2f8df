using System.Diagnostics;

namespace Psyne.Cli.Bench;

/// <summary>
/// The quick timer behind <c>psyne bench</c>: a warm-up, then several timed rounds of a
/// batch of operations, reporting the median round. BenchmarkDotNet (benchmarks/) is the
/// rigorous tool; this gives a person a number in seconds and scripts a JSON to compare.
/// </summary>
public static class Measure
{
    /// <summary>Median seconds per call of <paramref name="batch"/>, which runs <paramref name="iterations"/> operations.</summary>
    public static double SecondsPerOperation(Action<long> batch, TimeSpan budget, int rounds = 7)
    {
        // Calibrate: grow the batch until one round takes about budget/rounds.
        long iterations = 1;
        double target = budget.TotalSeconds / rounds;
        batch(iterations);
        while (true)
        {
            double t = Time(batch, iterations);
            if (t >= target || iterations > (1L << 40))
                break;
            iterations = t <= 0 ? iterations * 16 : Math.Max(iterations * 2, (long)(iterations * target / t * 1.1));
        }
        var samples = new double[rounds];
        for (int i = 0; i < rounds; i++)
            samples[i] = Time(batch, iterations) / iterations;
        Array.Sort(samples);
        return samples[rounds / 2];
    }

    private static double Time(Action<long> batch, long iterations)
    {
        long start = Stopwatch.GetTimestamp();
        batch(iterations);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }
}
