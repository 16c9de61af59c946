using System.CommandLine;

namespace SdSharp.Cli.Commands;

/// <summary>All top-level commands, in the order --help lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> Create(CliConsole console)
    {
        foreach (var command in GenerateCommands.Create(console)) yield return command;
        yield return ModelCommands.Create(console);
        yield return MergeCommand.Create(console);
        yield return PngInfoCommand.Create(console);
        yield return TokenizeCommand.Create(console);
        yield return ServeCommand.Create(console);
    }
}
