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

public sealed class ModelInspectTests
{
    [Fact]
    public void InspectReportsTheDetectedFamilyAndNetworks()
    {
        var (exit, output, _) = CliRunner.Run("model", "inspect", TestPaths.Fixture("models", "sdxl", "diffusers"));
        Assert.Equal(0, exit);
        Assert.Contains("model: SDXL, ε-prediction", output);
        Assert.Contains("text_encoder_2:", output);
    }

    [Fact]
    public void InspectJsonHasTheModelSection()
    {
        var (exit, output, _) = CliRunner.Run("model", "inspect", TestPaths.Fixture("models", "refiner", "diffusers"), "--json");
        Assert.Equal(0, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var model = json.RootElement.GetProperty("model");
        Assert.Equal("SDXLRefiner", model.GetProperty("family").GetString());
        Assert.Equal("eps", model.GetProperty("prediction").GetString());
    }

    [Fact]
    public void FilesThatAreNotCheckpointsAreStillSummarised()
    {
        var (exit, output, _) = CliRunner.Run("model", "inspect", TestPaths.Fixture("io", "embedding.pt"));
        Assert.Equal(0, exit);
        Assert.Contains("1 tensors", output);
        Assert.Contains("textual-inversion embedding", output);
    }

    [Fact]
    public void HostilePicklesAreRefusedByName()
    {
        CliRunner.AssertUserError(CliRunner.Run("model", "inspect", TestPaths.Fixture("io", "malicious.pt")), "posix.system");
        CliRunner.AssertUserError(CliRunner.Run("model", "inspect", TestPaths.Fixture("png", "text.png")), "text.png");
    }
}
