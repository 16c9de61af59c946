using System.Text.Json;

namespace SdSharp.Tests.Cli;

public sealed class CliTests
{
    [Fact]
    public void HelpListsTheCommands()
    {
        var (exit, output, _) = CliRunner.Run("--help");
        Assert.Equal(0, exit);
        Assert.Contains("sdsharp [command]", output);
        Assert.Contains("png-info", output);
    }

    [Fact]
    public void UnknownCommandsAndMissingArgumentsAreOneLineUserErrors()
    {
        CliRunner.AssertUserError(CliRunner.Run("frobnicate"), "frobnicate");
        CliRunner.AssertUserError(CliRunner.Run("png-info"), "file");
        CliRunner.AssertUserError(CliRunner.Run(), "command");
    }

    [Fact]
    public void PngInfoPrintsTheA1111Parameters()
    {
        string path = TestPaths.Fixture("png", "text.png");
        var (exit, output, error) = CliRunner.Run("png-info", path);
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("parameters (AUTOMATIC1111 infotext):", output);
        var info = SdSharp.Imaging.PngDecoder.ReadInfo(path);
        Assert.Contains(info.GetText("parameters")!, output);
    }

    [Fact]
    public void PngInfoJsonListsEveryTextChunk()
    {
        string path = TestPaths.Fixture("png", "text.png");
        var (exit, output, _) = CliRunner.Run("png-info", path, "--json");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        var info = SdSharp.Imaging.PngDecoder.ReadInfo(path);
        Assert.Equal(info.Header.Width, json.RootElement.GetProperty("width").GetInt32());
        Assert.Equal(info.GetText("parameters"), json.RootElement.GetProperty("parameters").GetString());
        Assert.Equal(info.Text.Count, json.RootElement.GetProperty("text").GetArrayLength());
    }

    [Fact]
    public void PngInfoOnBadFilesIsAOneLineUserError()
    {
        // png-info reads only the header and text chunks: cut the file inside its text.
        var bytes = File.ReadAllBytes(TestPaths.Fixture("png", "text.png"));
        string truncated = Path.Combine(TestPaths.NewTempDirectory(), "truncated.png");
        File.WriteAllBytes(truncated, bytes[..60]);
        CliRunner.AssertUserError(CliRunner.Run("png-info", truncated), "truncated.png");
        CliRunner.AssertUserError(CliRunner.Run("png-info", TestPaths.Fixture("png", "not_png.png")), "not_png.png");
        CliRunner.AssertUserError(CliRunner.Run("png-info", Path.Combine(TestPaths.NewTempDirectory(), "missing.png")), "missing.png");
    }
}
