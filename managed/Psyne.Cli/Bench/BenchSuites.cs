namespace Psyne.Cli.Bench;

/// <summary>Every suite <c>psyne bench</c> knows; later capabilities add theirs here.</summary>
public static class BenchSuites
{
    public static IReadOnlyList<IBenchSuite> All { get; } = [new InteropSuite(), new Crc32CSuite(), new TernarySuite(), new ChannelSuite(), new SocketsSuite()];

    public static IBenchSuite? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
}
