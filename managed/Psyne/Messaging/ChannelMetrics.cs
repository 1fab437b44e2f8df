using System.Diagnostics.Metrics;
using Psyne.Interop;

namespace Psyne.Messaging;

/// <summary>
/// The channel instruments of the <c>Psyne</c> meter. They are observable: nothing is counted
/// on the data path; a listener's collection reads libpsyne's counters of every live channel
/// (<c>psyne_channel_stats_get</c>, a few atomic loads each). Every measurement carries the tag
/// <c>psyne.channel</c> (the URI). An ipc segment's counters are shared by every process that
/// maps it, so each process reports the segment's totals.
/// </summary>
/// <remarks>
/// Instruments: <c>psyne.channel.messages</c> and <c>psyne.channel.bytes</c> (tag
/// <c>psyne.direction</c> = written | read), <c>psyne.channel.drops</c> (tag <c>psyne.reason</c> =
/// drop | reject), <c>psyne.channel.stalls</c> (tag <c>psyne.side</c> = producer | consumer: blocking
/// calls that slept), and the up-down counter <c>psyne.channel.used</c> (ring bytes in use now).
/// </remarks>
internal static unsafe class ChannelMetrics
{
    /// <summary>The meter's name, shared by every Psyne instrument.</summary>
    public const string MeterName = "Psyne";

    private static readonly Lock Gate = new();
    private static readonly List<WeakReference<ChannelCore>> Live = [];
    private static readonly Meter Meter = new(MeterName, typeof(ChannelMetrics).Assembly.GetName().Version?.ToString());

    static ChannelMetrics()
    {
        Meter.CreateObservableCounter("psyne.channel.messages", () => Observe(static (in s, add) =>
        {
            add((long)s.messages_written, "psyne.direction", "written");
            add((long)s.messages_read, "psyne.direction", "read");
        }), "{message}", "Records committed (written) and handed to consumers (read).");
        Meter.CreateObservableCounter("psyne.channel.bytes", () => Observe(static (in s, add) =>
        {
            add((long)s.bytes_written, "psyne.direction", "written");
            add((long)s.bytes_read, "psyne.direction", "read");
        }), "By", "Payload bytes committed (written) and handed to consumers (read).");
        Meter.CreateObservableCounter("psyne.channel.drops", () => Observe(static (in s, add) =>
        {
            add((long)s.drops, "psyne.reason", "drop");
            add((long)s.rejects, "psyne.reason", "reject");
        }), "{message}", "Records refused because the ring was full: dropped (Drop policy) or rejected (Fail policy).");
        Meter.CreateObservableCounter("psyne.channel.stalls", () => Observe(static (in s, add) =>
        {
            add((long)s.producer_stalls, "psyne.side", "producer");
            add((long)s.consumer_stalls, "psyne.side", "consumer");
        }), "{stall}", "Blocking calls that had to sleep.");
        Meter.CreateObservableUpDownCounter("psyne.channel.used", () => Observe(static (in s, add) =>
            add((long)s.used_bytes, null, null)), "By", "Ring bytes reserved or not yet released.");
    }

    private delegate void Emit(long value, string? tagName, string? tagValue);

    private delegate void Selector(in psyne_channel_stats stats, Emit add);

    /// <summary>Adds a channel to the set the instruments observe. Called once per native handle.</summary>
    public static void Track(ChannelCore core)
    {
        lock (Gate)
        {
            Live.RemoveAll(w => !w.TryGetTarget(out ChannelCore? c) || c.IsClosed);
            Live.Add(new WeakReference<ChannelCore>(core));
        }
    }

    private static List<Measurement<long>> Observe(Selector select)
    {
        var measurements = new List<Measurement<long>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        ChannelCore[] cores;
        lock (Gate)
        {
            cores = [.. Live.Select(w => w.TryGetTarget(out ChannelCore? c) ? c : null).OfType<ChannelCore>()];
        }
        foreach (ChannelCore core in cores)
        {
            // Two handles on one ipc segment in this process would report its counters twice.
            if (!seen.Add(core.Uri) || !core.TryEnterOther())
                continue;
            psyne_channel_stats stats;
            psyne_status status;
            try
            {
                status = PsyneNative.psyne_channel_stats_get(core.Ptr, &stats);
            }
            finally
            {
                core.ExitOther();
            }
            if (status != psyne_status.PSYNE_OK)
                continue;
            var channelTag = new KeyValuePair<string, object?>("psyne.channel", core.Uri);
            select(in stats, (value, tagName, tagValue) => measurements.Add(tagName is null
                ? new Measurement<long>(value, channelTag)
                : new Measurement<long>(value, channelTag, new KeyValuePair<string, object?>(tagName, tagValue))));
        }
        return measurements;
    }
}
