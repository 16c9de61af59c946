using System.Text.Json;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using SdSharp.Tests.Cli;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class PngInfoCommandTests : IDisposable
{
    private const string Parameters =
        "a cat, (tabby:1.2)\nNegative prompt: blurry\n"
        + "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 1234, Size: 512x768, "
        + "Lora hashes: \"add_detail: 7c6bad76eb54\", Version: v1.10.1";

    private readonly string _dir = TestPaths.NewTempDirectory();
    private readonly string _png;

    public PngInfoCommandTests()
    {
        _png = Path.Combine(_dir, "a1111.png");
        ImageOutput.Save(_png, new Image(2, 2, 3), Parameters);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void TextListsTheParsedFields()
    {
        var (exit, output, error) = CliRunner.Run("png-info", _png);
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains(Parameters, output);
        Assert.Contains("fields (as A1111's PNG Info reads them):", output);
        Assert.Contains("  Prompt: a cat, (tabby:1.2)\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("  Size-2: 768\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("  Lora hashes: add_detail: 7c6bad76eb54\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("  RNG: GPU\n", output.ReplaceLineEndings("\n"));
        Assert.Contains("  Masked area padding: 32\n", output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void JsonHasTheFieldsWithA1111sTypes()
    {
        var (exit, output, _) = CliRunner.Run("png-info", _png, "--json");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(Parameters, json.RootElement.GetProperty("parameters").GetString());
        var fields = json.RootElement.GetProperty("fields");
        Assert.Equal("a cat, (tabby:1.2)", fields.GetProperty("Prompt").GetString());
        Assert.Equal("7.5", fields.GetProperty("CFG scale").GetString());
        Assert.Equal("512", fields.GetProperty("Size-1").GetString());
        Assert.Equal(0, fields.GetProperty("Hires resize-1").GetInt64());
        Assert.Equal(32, fields.GetProperty("Masked area padding").GetInt64());
        Assert.Equal(["Prompt", "Negative prompt", "Steps"], fields.EnumerateObject().Take(3).Select(p => p.Name));
    }

    [Fact]
    public void ImagesWithoutParametersHaveNoFields()
    {
        string plain = Path.Combine(_dir, "plain.png");
        ImageOutput.Save(plain, new Image(1, 1, 1), infotext: null);
        var (exit, output, _) = CliRunner.Run("png-info", plain, "--json");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("fields").ValueKind);
        Assert.DoesNotContain("fields", CliRunner.Run("png-info", plain).Out);
    }
}
