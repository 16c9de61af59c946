using System.Runtime.InteropServices;
using SdSharp.Imaging;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Tests.Cli;

/// <summary>The generation commands' add-on options (--lora, --lora-dir, --embeddings-dir, --hypernetwork-dir, --vae) on the tiny SD 1.x fixture.</summary>
public sealed class AddonCommandTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();
    private static string Addons => TestPaths.Fixture("addons");

    private string[] Txt2Img(string output, string prompt, params string[] extra) =>
    [
        "txt2img", "-m", TestPaths.Fixture("models", "sd1", "diffusers"), "--tokenizer", Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer"),
        "-p", prompt, "--steps", "3", "-W", "64", "-H", "64", "--seed", "4", "--device", "cpu", "-o", Path.Combine(_dir, output), .. extra,
    ];

    private (byte[] Pixels, string Infotext) Read(string output)
    {
        var png = PngDecoder.Decode(Path.Combine(_dir, output));
        return (png.Image.Pixels, png.Info.GetText("parameters")!);
    }

    [Fact]
    public void ALoraFileChangesTheImageAndIsInTheInfotextAsItsTag()
    {
        var plain = CliRunner.Run(Txt2Img("plain.png", "a red circle"));
        Assert.True(plain.Exit == 0, plain.Error);
        var (exit, _, error) = CliRunner.Run(Txt2Img("lora.png", "a red circle", "--lora", Path.Combine(Addons, "kohya_sd1.safetensors") + ":0.8", "--verbose"));
        Assert.True(exit == 0, error);
        var (plainPixels, _) = Read("plain.png");
        var (pixels, infotext) = Read("lora.png");
        Assert.NotEqual(plainPixels, pixels);
        Assert.StartsWith("a red circle <lora:kohya_sd1:0.8>\n", infotext);
        Assert.Matches("Lora hashes: \"kohya_sd1: [0-9a-f]{12}\"", infotext);
        // The fixture's one key for no layer is a warning, one line.
        Assert.Contains(error.Split('\n'), line => line.StartsWith("warning: ", StringComparison.Ordinal) && line.Contains("lora_unet_not_a_layer_anywhere", StringComparison.Ordinal));
        Assert.Matches(@"add-ons \(LoRAs, hypernetworks\) applied in \d+\.\d{3} s", error);
        Assert.Matches(@"sampling: \d+\.\d{4} s/step", error);

        // The same LoRA found by name in --lora-dir gives the same image.
        Assert.Equal(0, CliRunner.Run(Txt2Img("dir.png", "a red circle <lora:kohya_sd1:0.8>", "--lora-dir", Addons)).Exit);
        Assert.Equal(pixels, Read("dir.png").Pixels);
    }

    [Fact]
    public void MissingLorasWarnAndMissingFilesAreUserErrors()
    {
        var (exit, _, error) = CliRunner.Run(Txt2Img("x.png", "a red circle <lora:nowhere:1>", "--lora-dir", Addons));
        Assert.Equal(0, exit);
        Assert.Contains("warning: Lora not found: nowhere", error.Split('\n'));
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img("y.png", "x", "--lora", Path.Combine(_dir, "absent.safetensors:0.5"))), "absent.safetensors");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img("y.png", "x", "--vae", Path.Combine(_dir, "absent-vae.safetensors"))), "absent-vae.safetensors");
    }

    [Fact]
    public void AVaeOverrideDecodesAndIsNamedWithItsHash()
    {
        // The bundled model (whose VAE, unlike the tiny fixture's, has the 32 norm groups every real VAE has) with a
        // VAE file in diffusers' names: its own VAE with a changed output bias, so that its use shows in the pixels.
        string vae = Path.Combine(_dir, "tinyvae.safetensors");
        using (var own = SafetensorsFile.Open(Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "vae", "diffusion_pytorch_model.safetensors")))
        {
            var tensors = own.Tensors.Select(t =>
            {
                float[] values = t.ToFloat32();
                if (t.Name == "decoder.conv_out.bias") values = [.. values.Select(v => v + 0.5f)];
                return (t.Name, ElementType.F32, t.Shape, (ReadOnlyMemory<byte>)MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
            }).ToList();
            SafetensorsWriter.Write(vae, tensors, new Dictionary<string, string>(), overwrite: true);
        }
        string[] Bundled(string output, params string[] extra) =>
            ["txt2img", "-p", "a red circle", "--steps", "3", "-W", "64", "-H", "64", "--seed", "4", "--device", "cpu", "-o", Path.Combine(_dir, output), .. extra];
        Assert.Equal(0, CliRunner.Run(Bundled("own.png")).Exit);
        var (exit, _, error) = CliRunner.Run(Bundled("vae.png", "--vae", vae));
        Assert.True(exit == 0, error);
        var (pixels, infotext) = Read("vae.png");
        Assert.NotEqual(Read("own.png").Pixels, pixels);
        Assert.Contains($"VAE hash: {SdSharp.Generation.Infotext.ModelHashes.Default.ShortHash(vae)}, VAE: tinyvae.safetensors", infotext);
        Assert.DoesNotContain("VAE", Read("own.png").Infotext);
    }

    [Fact]
    public void HypernetworksAndEmbeddingsComeFromTheirFolders()
    {
        Assert.Equal(0, CliRunner.Run(Txt2Img("plain.png", "a red circle")).Exit);
        var (exit, _, error) = CliRunner.Run(Txt2Img("hn.png", "a red circle <hypernet:relu_hn:0.6>", "--hypernetwork-dir", Addons));
        Assert.True(exit == 0, error);
        Assert.DoesNotContain("warning", error);
        Assert.NotEqual(Read("plain.png").Pixels, Read("hn.png").Pixels);
        // The model's folder has no hypernetworks folder: the name is not found.
        Assert.Contains("warning: Hypernetwork not found: relu_hn", CliRunner.Run(Txt2Img("none.png", "a red circle <hypernet:relu_hn:0.6>")).Error);
    }
}
