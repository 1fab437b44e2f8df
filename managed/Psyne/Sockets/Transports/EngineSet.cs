namespace Psyne.Sockets.Transports;

/// <summary>The connections a listener accepted: each runs on its own thread; closing the set closes them all.</summary>
internal sealed class EngineSet
{
    private readonly Lock _gate = new();
    private readonly HashSet<ZmtpEngine> _engines = [];
    private bool _closed;

    /// <summary>Runs the connection on a new thread; false (and the stream closed) once the set is closed.</summary>
    public bool Start(PsyneSocket owner, ZmtpStream stream, string peer)
    {
        var engine = new ZmtpEngine(owner, stream, peer, persistentPipe: null);
        lock (_gate)
        {
            if (_closed)
            {
                stream.Dispose();
                return false;
            }
            _engines.Add(engine);
        }
        var thread = new Thread(() =>
        {
            engine.Run();
            lock (_gate)
                _engines.Remove(engine);
        })
        { IsBackground = true, Name = "psyne-zmtp-recv" };
        thread.Start();
        return true;
    }

    public void CloseAll()
    {
        ZmtpEngine[] engines;
        lock (_gate)
        {
            _closed = true;
            engines = [.. _engines];
        }
        foreach (ZmtpEngine e in engines)
            e.Close("closed by the application");
    }
}
