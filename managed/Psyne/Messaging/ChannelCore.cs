using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Psyne.Interop;
using Psyne.Native;

namespace Psyne.Messaging;

/// <summary>
/// Owns one native <c>psyne_channel</c> handle and keeps it alive while calls run on it.
/// </summary>
/// <remarks>
/// <para><c>psyne_channel_close</c> must be the last call on a handle, so every call is bracketed
/// by an enter/exit pair and <see cref="CloseChannel"/> waits until none is in flight. A SafeHandle
/// AddRef per call would do that with two locked instructions on one shared word, which producer
/// and consumer threads would bounce between their cores on every message. Instead each side has
/// its own in-flight word on its own cache line; a single-threaded side (the producer of an
/// SPSC/SPMC ring, the consumer of an SPSC/MPSC ring) sets it with plain stores, and
/// <see cref="CloseChannel"/> pairs them with <see cref="Interlocked.MemoryBarrierProcessWide"/> (an
/// asymmetric Dekker handshake: either the caller sees the gate closed, or the closer sees the
/// caller in flight). Multi-threaded sides count with interlocked increments.</para>
/// <para>The SafeHandle base still frees the native handle from its finalizer when every
/// <see cref="Channel"/> that used it was forgotten without Dispose.</para>
/// </remarks>
internal sealed unsafe class ChannelCore : PsyneSafeHandle
{
    internal const int GateClosing = 1;
    internal const int GateNoConsumers = 2;

    private InFlight _inFlight;
    private int _gate;

    private ChannelCore(ChannelAddress address, bool singleProducer, bool singleConsumer)
    {
        Address = address;
        Uri = address.ToString();
        SingleProducer = singleProducer;
        SingleConsumer = singleConsumer;
    }

    public psyne_channel* Ptr { get; private set; }

    public ChannelAddress Address { get; }

    public string Uri { get; }

    public bool SingleProducer { get; private set; }

    public bool SingleConsumer { get; private set; }

    // Channel objects sharing this handle (inproc), guarded by InprocRegistry's lock; ipc handles have one.
    internal int Refs;
    internal int ProducerRefs;
    internal int ConsumerRefs;

    public bool IsClosing => (Volatile.Read(ref _gate) & GateClosing) != 0;

    public int Gate => Volatile.Read(ref _gate);

    /// <summary>Adopts a handle libpsyne returned; the kind decides how each side counts calls in flight.</summary>
    public static ChannelCore Adopt(ChannelAddress address, psyne_channel* channel)
    {
        var core = new ChannelCore(address, singleProducer: false, singleConsumer: false);
        core.SetHandle((nint)channel);
        core.Ptr = channel;
        psyne_channel_info info;
        psyne_status s = PsyneNative.psyne_channel_info_get(channel, &info);
        if (s != psyne_status.PSYNE_OK)
        {
            core.Dispose();
            NativeStatus.Throw(s);
        }
        var kind = (ChannelKind)info.kind;
        core.SingleProducer = kind is ChannelKind.Spsc or ChannelKind.Spmc;
        core.SingleConsumer = kind is ChannelKind.Spsc or ChannelKind.Mpsc;
        ChannelMetrics.Track(core);
        return core;
    }

    // ---- calls in flight ------------------------------------------------------------------

    /// <summary>Enters a producer call; false if the handle is closing (or, when <paramref name="reserving"/>, every inproc consumer left).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterProducer(bool reserving)
    {
        if (SingleProducer)
            Volatile.Write(ref _inFlight.Producer, 1);
        else
            Interlocked.Increment(ref _inFlight.Producer);
        int gate = Volatile.Read(ref _gate);
        if (gate == 0 || (!reserving && (gate & GateClosing) == 0))
            return true;
        ExitProducer();
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitProducer()
    {
        if (SingleProducer)
            Volatile.Write(ref _inFlight.Producer, 0);
        else
            Interlocked.Decrement(ref _inFlight.Producer);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnterConsumer()
    {
        if (SingleConsumer)
            Volatile.Write(ref _inFlight.Consumer, 1);
        else
            Interlocked.Increment(ref _inFlight.Consumer);
        if ((Volatile.Read(ref _gate) & GateClosing) == 0)
            return true;
        ExitConsumer();
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ExitConsumer()
    {
        if (SingleConsumer)
            Volatile.Write(ref _inFlight.Consumer, 0);
        else
            Interlocked.Decrement(ref _inFlight.Consumer);
    }

    /// <summary>Enters a call that may come from any thread (stats, info, wake-ups).</summary>
    public bool TryEnterOther()
    {
        Interlocked.Increment(ref _inFlight.Other);
        if ((Volatile.Read(ref _gate) & GateClosing) == 0)
            return true;
        Interlocked.Decrement(ref _inFlight.Other);
        return false;
    }

    public void ExitOther() => Interlocked.Decrement(ref _inFlight.Other);

    // ---- slow-path operations -------------------------------------------------------------

    /// <summary>Wakes every call blocked in this handle (they see PSYNE_E_TIMEOUT and re-check). Quietly does nothing once closing.</summary>
    public void WakeAll()
    {
        if (!TryEnterOther())
            return;
        try
        {
            PsyneNative.psyne_channel_wake_all(Ptr);
        }
        finally
        {
            ExitOther();
        }
    }

    /// <summary>Ends the channel for writing (<c>psyne_channel_shutdown</c>); consumers drain, then see it closed.</summary>
    public void Shutdown()
    {
        if (!TryEnterOther())
            return;
        try
        {
            NativeStatus.ThrowIfFailed(PsyneNative.psyne_channel_shutdown(Ptr));
        }
        finally
        {
            ExitOther();
        }
    }

    /// <summary>inproc: every consumer handle left; blocked and later reserves fail with <see cref="PsyneClosedException"/>.</summary>
    public void MarkNoConsumers()
    {
        Interlocked.Or(ref _gate, GateNoConsumers);
        WakeAll();
    }

    /// <summary>
    /// Closes the native handle once no call is in flight: marks the gate, wakes blocked calls
    /// with <c>psyne_channel_shutdown</c>, waits for them to leave, then frees. Idempotent.
    /// </summary>
    public void CloseChannel()
    {
        if ((Interlocked.Or(ref _gate, GateClosing) & GateClosing) != 0)
            return;
        // Pairs with the plain stores of single-threaded sides (see the class remarks).
        Interlocked.MemoryBarrierProcessWide();
        PsyneNative.psyne_channel_shutdown(Ptr);
        var spin = new SpinWait();
        long lastWake = Environment.TickCount64;
        while (Volatile.Read(ref _inFlight.Producer) != 0 || Volatile.Read(ref _inFlight.Consumer) != 0 ||
               Volatile.Read(ref _inFlight.Other) != 0)
        {
            spin.SpinOnce(sleep1Threshold: 30);
            // A call that began its wait after the shutdown's wake-up sees the gate at its next
            // check; wake it again now and then so that is soon.
            if (Environment.TickCount64 - lastWake > 10)
            {
                PsyneNative.psyne_channel_wake_all(Ptr);
                lastWake = Environment.TickCount64;
            }
        }
        Dispose();
    }

    protected override bool ReleaseHandle() =>
        PsyneNative.psyne_channel_close((psyne_channel*)handle) == psyne_status.PSYNE_OK;

    /// <summary>The in-flight words, each on its own 128-byte pair of cache lines.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 512)]
    private struct InFlight
    {
        [FieldOffset(128)] public int Producer;
        [FieldOffset(256)] public int Consumer;
        [FieldOffset(384)] public int Other;
    }
}
