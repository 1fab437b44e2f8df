using System.CommandLine;
using Psyne.Benchmarks.Peers;
using Psyne.Sockets;

namespace Psyne.Cli.Commands;

/// <summary>
/// <c>psyne socket-peer &lt;role&gt; &lt;endpoint&gt; [--bind] [--count N] [--size B]</c>: the other process of
/// multi-process socket tests (hidden from help). Prints <c>ready</c> once its socket is set up,
/// does its part, and ends with one summary line. Roles:
/// <list type="bullet">
/// <item><c>push</c>: sends --count sequenced messages of --size bytes (0: until killed).</item>
/// <item><c>pull</c>: receives --count messages, checking every byte and the order; prints <c>received N errors E</c>.</item>
/// <item><c>rep</c>: answers --count requests (0: until killed) with the request's bytes.</item>
/// </list>
/// </summary>
internal static class SocketPeerCommand
{
    public const string Name = "socket-peer";

    public static Command Create()
    {
        var role = new Argument<string>("role") { Description = "push, pull or rep." };
        role.AcceptOnlyFromAmong("push", "pull", "rep");
        var endpoint = new Argument<string>("endpoint") { Description = "tcp://, unix://, or ipc:// endpoint." };
        var bind = new Option<bool>("--bind") { Description = "Bind the endpoint (default: connect)." };
        var count = new Option<long>("--count") { Description = "Messages; 0: until killed." };
        var size = new Option<int>("--size") { Description = "Message size in bytes (at least 8).", DefaultValueFactory = _ => 64 };
        var command = new Command(Name, "The peer process of multi-process socket tests.") { role, endpoint, bind, count, size };
        command.Hidden = true;
        command.SetAction(r => CliErrors.Run(() => Run(r.GetValue(role)!, r.GetValue(endpoint)!, r.GetValue(bind), r.GetValue(count), r.GetValue(size))));
        return command;
    }

    private static int Run(string role, string endpoint, bool bind, long count, int size)
    {
        using PsyneSocket socket = role switch
        {
            "push" => new PushSocket(new SocketOptions { Linger = TimeSpan.FromSeconds(30) }),
            "pull" => new PullSocket(),
            _ => new RepSocket(),
        };
        if (bind)
            Say($"bound {socket.Bind(endpoint)}");
        else
            socket.Connect(endpoint);
        Say("ready");
        switch (role)
        {
            case "push":
            {
                byte[] payload = new byte[Math.Max(8, size)];
                ulong i = 0;
                for (; count == 0 || (long)i < count; i++)
                {
                    SequencedPayload.Fill(payload, i);
                    socket.Send(payload);
                }
                Say($"sent {i}");
                return 0;
            }
            case "pull":
            {
                long errors = 0;
                for (long i = 0; i < count; i++)
                {
                    ReceivedFrame f = socket.Receive();
                    if (!SequencedPayload.Check(f.Data, (ulong)i))
                        errors++;
                }
                Say($"received {count} errors {errors}");
                return errors == 0 ? 0 : CliErrors.Failure;
            }
            default:
            {
                for (long i = 0; count == 0 || i < count; i++)
                {
                    ReceivedFrame f = socket.Receive();
                    socket.Send(f.Data);
                }
                Say($"answered {count}");
                return 0;
            }
        }
    }

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
