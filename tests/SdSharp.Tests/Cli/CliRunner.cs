using SdSharp.Cli;

namespace SdSharp.Tests.Cli;

/// <summary>Runs the sdsharp command line in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = SdSharpCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Asserts the documented failure contract: exit 2 and exactly one line on stderr, naming something.</summary>
    public static string AssertUserError((int Exit, string Out, string Error) result, string mustMention)
    {
        Assert.Equal(SdSharpCli.UserError, result.Exit);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("sdsharp: ", lines[0]);
        Assert.Contains(mustMention, lines[0]);
        Assert.DoesNotContain("   at ", result.Error); // no stack trace
        return lines[0];
    }
}
