using SdSharp.Imaging;
using SdSharp.IO;

namespace SdSharp.Tests.Cli;

/// <summary>The generation commands with the bundled model (the default when -m is not given).</summary>
public sealed class GenerateCommandTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    private string[] Txt2Img(string output, params string[] extra) =>
        ["txt2img", "-p", "a large red circle in the center on a white background", "--steps", "8", "--seed", "9", "--device", "cpu", "-o", output, .. extra];

    [Fact]
    public void Txt2ImgWritesAPngWithItsInfotext()
    {
        string path = Path.Combine(_dir, "out.png");
        var (exit, output, error) = CliRunner.Run(Txt2Img(path));
        Assert.True(exit == 0, error);
        Assert.Equal(path, output.Trim());
        var png = PngDecoder.Decode(path);
        Assert.Equal((128, 128), (png.Image.Width, png.Image.Height));
        Assert.StartsWith("a large red circle in the center on a white background\nSteps: 8, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 9, Size: 128x128, Model: tiny-shapes",
            png.Info.GetText("parameters"));
    }

    [Fact]
    public void AFolderGetsNumberedFilesAndNothingIsOverwritten()
    {
        var (exit, output, _) = CliRunner.Run(Txt2Img(_dir, "--batch-size", "2"));
        Assert.Equal(0, exit);
        Assert.Equal(["00000-9.png", "00001-10.png"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFileName));
        string explicitPath = Path.Combine(_dir, "00000-9.png");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img(explicitPath)), "already exists");
    }

    [Fact]
    public void LatentsOutWritesTheFinalLatents()
    {
        string latents = Path.Combine(_dir, "latents.safetensors");
        Assert.Equal(0, CliRunner.Run(Txt2Img(Path.Combine(_dir, "a.png"), "--latents-out", latents)).Exit);
        using var file = SafetensorsFile.Open(latents);
        Assert.Equal(new long[] { 1, 16, 16, 4 }, file.Find("latent_0")!.Shape);
    }

    [Fact]
    public void FromPngRegeneratesTheSameImage()
    {
        string first = Path.Combine(_dir, "first.png"), second = Path.Combine(_dir, "second.png");
        Assert.Equal(0, CliRunner.Run(Txt2Img(first, "--sampler", "Euler a", "--cfg", "5.5")).Exit);
        var (exit, _, error) = CliRunner.Run("txt2img", "--from-png", first, "--device", "cpu", "-o", second);
        Assert.True(exit == 0, error);
        Assert.Equal(PngDecoder.Decode(first).Image.Pixels, PngDecoder.Decode(second).Image.Pixels);
    }

    [Fact]
    public void RefinerTakesOverAndIsNamedInTheInfotext()
    {
        string path = Path.Combine(_dir, "refined.png");
        string tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer");
        var (exit, _, error) = CliRunner.Run("txt2img", "-m", TestPaths.Fixture("models", "sdxl", "diffusers"), "--tokenizer", tokenizer,
            "--refiner", TestPaths.Fixture("models", "refiner", "diffusers"), "--refiner-switch-at", "0.6",
            "-p", "a red circle", "--steps", "4", "-W", "64", "-H", "64", "--seed", "2", "--device", "cpu", "-o", path);
        Assert.True(exit == 0, error);
        // A folder has no file hash: A1111's title is then the name alone.
        Assert.Contains("Refiner: diffusers, Refiner switch at: 0.6", PngDecoder.Decode(path).Info.GetText("parameters"));
        var (_, _, mixed) = CliRunner.Run(Txt2Img(Path.Combine(_dir, "mixed.png"), "--refiner", TestPaths.Fixture("models", "refiner", "diffusers"), "--tokenizer", tokenizer));
        Assert.Contains("latent space", mixed);
    }

    /// <summary>
    /// The bundled VAE's sample_size is 128: a 256² image decodes in tiles, each normalised with its own statistics,
    /// so the pixels differ from one whole decode (by 23/255 on average here: this tiny VAE sees flat colours).
    /// </summary>
    [Fact]
    public void VaeTilingDecodesInTiles()
    {
        string whole = Path.Combine(_dir, "whole.png"), tiled = Path.Combine(_dir, "tiled.png");
        Assert.Equal(0, CliRunner.Run(Txt2Img(whole, "-W", "256", "-H", "256")).Exit);
        var (exit, _, error) = CliRunner.Run(Txt2Img(tiled, "-W", "256", "-H", "256", "--vae-tiling"));
        Assert.True(exit == 0, error);
        var a = PngDecoder.Decode(whole).Image;
        var b = PngDecoder.Decode(tiled).Image;
        Assert.Equal((256, 256), (b.Width, b.Height));
        double meanDifference = a.Pixels.Zip(b.Pixels).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(meanDifference > 0.01, $"tiled and whole decodes should differ, mean difference {meanDifference}");
    }

    [Fact]
    public void RngGpuIsTheNvGeneratorWithANote()
    {
        string gpu = Path.Combine(_dir, "gpu.png"), nv = Path.Combine(_dir, "nv.png");
        var (exit, _, error) = CliRunner.Run(Txt2Img(gpu, "--rng", "gpu"));
        Assert.Equal(0, exit);
        Assert.Contains("cannot be reproduced", error);
        Assert.Equal(0, CliRunner.Run(Txt2Img(nv, "--rng", "nv")).Exit);
        Assert.Equal(PngDecoder.Decode(nv).Image.Pixels, PngDecoder.Decode(gpu).Image.Pixels);
    }

    [Fact]
    public void BadRequestsAreOneLineUserErrors()
    {
        string path = Path.Combine(_dir, "x.png");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img(path, "-W", "100")), "multiples of 8");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img(path, "--sampler", "Bogus")), "Bogus");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img(path, "--device", "tpu")), "--device");
        CliRunner.AssertUserError(CliRunner.Run("img2img", "-p", "x", "-o", path), "init image");
        CliRunner.AssertUserError(CliRunner.Run("img2img", "-p", "x", "-i", TestPaths.Fixture("png", "bad_crc.png"), "-o", path), "bad_crc.png");
        CliRunner.AssertUserError(CliRunner.Run(Txt2Img(path, "-m", TestPaths.Fixture("io", "malicious.pt"))), "posix.system");
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Img2ImgAndInpaintRunFromFiles()
    {
        string source = Path.Combine(_dir, "source.png"), mask = Path.Combine(_dir, "mask.png"), out1 = Path.Combine(_dir, "i2i.png"), out2 = Path.Combine(_dir, "inpaint.png");
        Assert.Equal(0, CliRunner.Run(Txt2Img(source)).Exit);
        var m = new Image(128, 128, 1);
        for (int i = 0; i < m.Pixels.Length; i++) m.Pixels[i] = (byte)(i % 128 >= 64 ? 255 : 0);
        PngEncoder.Save(m, mask, []);
        Assert.Equal(0, CliRunner.Run("img2img", "-i", source, "-p", "a large red circle in the center on a blue background", "--strength", "0.6", "--steps", "6", "--device", "cpu", "-o", out1).Exit);
        Assert.Equal(0, CliRunner.Run("inpaint", "-i", source, "--mask", mask, "-p", "a small black square on the right on a white background", "--steps", "6", "--device", "cpu", "-o", out2).Exit);
        Assert.Contains("Denoising strength: 0.6", PngDecoder.ReadInfo(out1).GetText("parameters"));
        Assert.True(File.Exists(out2));
    }
}
