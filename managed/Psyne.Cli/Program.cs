using System.CommandLine;
using Psyne.Cli.Commands;

namespace Psyne.Cli;

/// <summary>The <c>psyne</c> command: info, demo and bench.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Psyne: zero-copy tensor messaging and ternary compute for .NET.")
        {
            InfoCommand.Create(),
            DemoCommand.Create(),
            BenchCommand.Create(),
            TernaryCommand.Create(),
            ChannelPeerCommand.Create(),
            SocketPeerCommand.Create(),
        };
        return root.Parse(args).Invoke();
    }
}
