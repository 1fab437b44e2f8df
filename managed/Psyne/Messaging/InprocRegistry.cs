using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// The process-wide table of <c>inproc://</c> names: opening a name twice in one process gives
/// two <see cref="Channel"/> objects over the same ring. The native handle closes when the last
/// of them is disposed (or, if every one was forgotten, when the handle is finalized: the table
/// holds it weakly).
/// </summary>
internal static unsafe class InprocRegistry
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, WeakReference<ChannelCore>> Cores = new(StringComparer.Ordinal);

    public static ChannelCore Acquire(ChannelAddress address, ChannelOptions? options, ChannelRole role, ChannelOpenMode mode)
    {
        lock (Gate)
        {
            if (Cores.TryGetValue(address.Name, out var weak) && weak.TryGetTarget(out ChannelCore? core) &&
                core.Refs > 0 && !core.IsClosing)
            {
                if (mode == ChannelOpenMode.CreateNew)
                {
                    throw new PsyneArgumentException(
                        $"{address} already exists in this process: open it with ChannelOpenMode.OpenExisting or OpenOrCreate, or pick another name.");
                }
                if (options is not null)
                    Channel.CheckCompatible(core, options);
                AddRef(core, role);
                return core;
            }
            if (mode == ChannelOpenMode.OpenExisting)
            {
                throw new PsyneNotFoundException(
                    $"{address} does not exist in this process: create it first (ChannelOpenMode.OpenOrCreate or CreateNew).");
            }
            psyne_channel_options native = (options ?? ChannelOptions.Default).ToNative();
            psyne_channel* channel;
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_create_inproc(&native, &channel));
            core = ChannelCore.Adopt(address, channel);
            AddRef(core, role);
            Cores[address.Name] = new WeakReference<ChannelCore>(core);
            return core;
        }
    }

    private static void AddRef(ChannelCore core, ChannelRole role)
    {
        core.Refs++;
        if ((role & ChannelRole.Producer) != 0)
            core.ProducerRefs++;
        if ((role & ChannelRole.Consumer) != 0)
            core.ConsumerRefs++;
    }

    /// <summary>
    /// One <see cref="Channel"/> over <paramref name="core"/> is disposed. The last one closes the
    /// ring; the last producer ends it for writing (consumers drain, then see it closed); the last
    /// consumer makes producers' reserves fail with <see cref="PsyneClosedException"/>, as on ipc.
    /// </summary>
    public static void Release(ChannelCore core, ChannelRole role)
    {
        bool close, lastProducer = false, lastConsumer = false;
        lock (Gate)
        {
            core.Refs--;
            if ((role & ChannelRole.Producer) != 0)
                lastProducer = --core.ProducerRefs == 0;
            if ((role & ChannelRole.Consumer) != 0)
                lastConsumer = --core.ConsumerRefs == 0;
            close = core.Refs == 0;
            if (close && Cores.TryGetValue(core.Address.Name, out var weak) &&
                (!weak.TryGetTarget(out ChannelCore? current) || ReferenceEquals(current, core)))
            {
                Cores.Remove(core.Address.Name);
            }
        }
        if (close)
        {
            core.CloseChannel();
            return;
        }
        if (lastProducer)
            core.Shutdown();
        if (lastConsumer)
            core.MarkNoConsumers();
    }
}
