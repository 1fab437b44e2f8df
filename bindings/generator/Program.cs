// Psyne.Bindgen: C header -> raw C# P/Invoke bindings. See Cli for the arguments.
using Psyne.Bindgen;

return Cli.Run(args, Console.Out, Console.Error, Environment.CurrentDirectory);
