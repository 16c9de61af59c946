using System.CommandLine;

using SdSharp.Cli.Commands;

namespace SdSharp.Cli;

/// <summary>
/// The <c>sdsharp</c> command line. Every command reports problems with what the user gave it (a bad file, an
/// invalid option) as one line on stderr and exit status 2; unexpected failures exit 1; stack traces only
/// with --verbose.
/// </summary>
public static class SdSharpCli
{
    public const int UserError = 2;
    public const int InternalError = 1;

    public static int Run(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var console = new CliConsole(stdout ?? Console.Out, stderr ?? Console.Error);
        var verbose = new Option<bool>("--verbose") { Description = "Show full error details (stack traces).", Recursive = true };
        // A plain command named like the tool: RootCommand would take its name from the assembly (SdSharp.Cli).
        var root = new Command("sdsharp", "SdSharp: Stable Diffusion in C#. Loads SD 1.x, SD 2.x and SDXL checkpoints, runs on CPU or CUDA.")
        {
            new System.CommandLine.Help.HelpOption(),
            new VersionOption(),
            verbose,
        };
        foreach (var command in CommandCatalog.Create(console)) root.Subcommands.Add(command);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // The parser lists "Required command was not provided" before the token it could not place: name the token.
            var error = parse.Errors.FirstOrDefault(e => e.Message.Contains("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            console.Error.WriteLine($"sdsharp: {error.Message} (see sdsharp --help)");
            return UserError;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserError(e))
        {
            console.Error.WriteLine($"sdsharp: {OneLine(e.Message)}");
            if (parse.GetValue(verbose)) console.Error.WriteLine(e);
            return UserError;
        }
        catch (OperationCanceledException)
        {
            console.Error.WriteLine("sdsharp: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            console.Error.WriteLine($"sdsharp: internal error: {OneLine(e.Message)}{(parse.GetValue(verbose) ? "" : " (run with --verbose for details)")}");
            if (parse.GetValue(verbose)) console.Error.WriteLine(e);
            return InternalError;
        }
    }

    private static bool IsUserError(Exception e) =>
        e is InvalidInputException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException or Tensors.DeviceCapacityException;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>Where commands write: the process's console, or captured writers in tests.</summary>
public sealed record CliConsole(TextWriter Out, TextWriter Error);
