using SdSharp.Cpu;
using SdSharp.Evaluation;
using SdSharp.Generation;
using SdSharp.Imaging;
using SdSharp.Models;

namespace SdSharp.Tests.Generation;

/// <summary>The whole pipeline on the bundled model (models/tiny-shapes), which draws what the prompt says.</summary>
public sealed class GeneratorTests : IClassFixture<BundledModelFixture>
{
    private readonly BundledModelFixture _f;

    public GeneratorTests(BundledModelFixture fixture) => _f = fixture;

    private static GenerationRequest Request(string prompt, long seed = 3) => new()
    {
        Prompt = prompt, Seed = seed, Steps = 12, CfgScale = 7, SamplerName = "DPM++ 2M", Width = 128, Height = 128,
    };

    [Fact]
    public void TheImageShowsWhatThePromptAsks()
    {
        var result = _f.Generator.Generate(Request("a large red square in the center on a blue background"));
        var found = _f.Scorer.Score(result.Images[0].Image);
        Assert.Equal("red", found.Color);
        Assert.Equal("square", found.Shape);
        Assert.Equal("in the center", found.Position);
        Assert.Equal("blue", found.Background);
    }

    [Fact]
    public void TheSameSeedGivesTheSameImageAndAnotherSeedAnother()
    {
        var a = _f.Generator.Generate(Request("a small green circle on the right on a white background", 11)).Images[0].Image;
        var b = _f.Generator.Generate(Request("a small green circle on the right on a white background", 11)).Images[0].Image;
        var c = _f.Generator.Generate(Request("a small green circle on the right on a white background", 12)).Images[0].Image;
        Assert.Equal(a.Pixels, b.Pixels);
        Assert.NotEqual(a.Pixels, c.Pixels);
    }

    [Fact]
    public void ImageIOfABatchIsTheImageOfSeedPlusI()
    {
        var batch = _f.Generator.Generate(Request("a large purple triangle at the bottom on a yellow background", 40) with { BatchSize = 2 });
        Assert.Equal([40L, 41L], batch.Images.Select(i => i.Seed));
        var single = _f.Generator.Generate(Request("a large purple triangle at the bottom on a yellow background", 41)).Images[0];
        Assert.True(MeanDifference(batch.Images[1].Image, single.Image) < 0.5, "batch image 2 differs from seed + 1 alone");
        var count = _f.Generator.Generate(Request("a large purple triangle at the bottom on a yellow background", 40) with { NIter = 2 });
        Assert.Equal([40L, 41L], count.Images.Select(i => i.Seed));
    }

    [Fact]
    public void TheInfotextIsA1111s()
    {
        var image = _f.Generator.Generate(Request("a small white square at the top on a black background", 5)).Images[0];
        Assert.Equal("a small white square at the top on a black background\nSteps: 12, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 5, Size: 128x128, RNG: CPU, Version: SdSharp v0.1.0",
            image.Infotext.Text);
    }

    [Fact]
    public void CancellingStopsAtAStepBoundary()
    {
        using var cancel = new CancellationTokenSource();
        int steps = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => _f.Generator.Generate(Request("a large blue circle on the left on a red background"), p =>
        {
            if (++steps == 3) cancel.Cancel();
        }, cancel.Token));
        Assert.Equal(3, steps);
    }

    [Fact]
    public void Img2ImgKeepsTheImageAtLowStrengthAndRepaintsItAtFull()
    {
        var source = _f.Generator.Generate(Request("a large yellow circle at the top on a green background", 21)).Images[0].Image;
        var request = Request("a large yellow circle at the top on a green background", 22) with { InitImages = [source] };
        var low = _f.Generator.Generate(request with { DenoisingStrength = 0.15 }).Images[0].Image;
        var full = _f.Generator.Generate(request with { DenoisingStrength = 1.0, Prompt = "a large black square at the bottom on an orange background" }).Images[0].Image;
        Assert.True(MeanDifference(source, low) < 12, $"low strength moved the image by {MeanDifference(source, low):F1}");
        var found = _f.Scorer.Score(full);
        Assert.Equal("orange", found.Background);
    }

    [Fact]
    public void InpaintingRepaintsOnlyTheMask()
    {
        var source = _f.Generator.Generate(Request("a small red circle on the left on a white background", 31)).Images[0].Image;
        var mask = new Image(128, 128, 1);
        for (int y = 0; y < 128; y++)
            for (int x = 64; x < 128; x++) mask.Pixels[y * 128 + x] = 255;
        var result = _f.Generator.Generate(Request("a large blue square on the right on a white background", 32) with
        {
            InitImages = [source], Mask = mask, DenoisingStrength = 1.0, InpaintFullRes = false, InpaintingFill = 1, MaskBlurX = 0, MaskBlurY = 0,
        }).Images[0].Image;
        // The left half is pasted back from the original; the right half is new.
        double left = 0, right = 0;
        for (int y = 0; y < 128; y++)
            for (int x = 0; x < 128; x++)
                for (int c = 0; c < 3; c++)
                {
                    int i = (y * 128 + x) * 3 + c;
                    double d = Math.Abs(result.Pixels[i] - source.Pixels[i]);
                    if (x < 60) left += d; else if (x >= 68) right += d;
                }
        Assert.True(left / (60 * 128 * 3) < 1, $"unmasked half changed by {left / (60 * 128 * 3):F2}");
        Assert.True(right / (60 * 128 * 3) > 5, "masked half did not change");
    }

    [Fact]
    public void HiresFixGeneratesAtTheUpscaledSize()
    {
        var image = _f.Generator.Generate(Request("a large orange triangle in the center on a purple background", 8) with
        {
            EnableHr = true, HrScale = 2, HrSecondPassSteps = 6, DenoisingStrength = 0.5,
        }).Images[0];
        Assert.Equal((256, 256), (image.Image.Width, image.Image.Height));
        Assert.Contains("Denoising strength: 0.5", image.Infotext.Text);
    }

    [Theory]
    [InlineData("Euler")]
    [InlineData("Euler a")]
    [InlineData("DPM++ 2M SDE")]
    [InlineData("DDIM")]
    [InlineData("UniPC")]
    [InlineData("Heun")]
    [InlineData("LMS Karras")]   // LMS on the uniform schedule needs ~50 steps with this model (large early steps)
    [InlineData("DPM++ 2M Karras")]
    public void EverySamplerFamilyDrawsThePrompt(string sampler)
    {
        var result = _f.Generator.Generate(Request("a large green square in the center on a black background", 4) with { SamplerName = sampler, Steps = 16 });
        var found = _f.Scorer.Score(result.Images[0].Image);
        Assert.Equal(("green", "black"), (found.Color, found.Background));
    }

    [Fact]
    public void InvalidRequestsAreUserErrors()
    {
        Assert.Throws<InvalidInputException>(() => _f.Generator.Generate(Request("x") with { Width = 100 }));
        Assert.Throws<InvalidInputException>(() => _f.Generator.Generate(Request("x") with { SamplerName = "Nonexistent" }));
        Assert.Throws<InvalidInputException>(() => _f.Generator.Generate(Request("x") with { Steps = 0 }));
        Assert.Throws<InvalidInputException>(() => _f.Generator.Generate(Request("x") with { DenoisingStrength = 1.5 }));
    }

    private static double MeanDifference(Image a, Image b) =>
        a.Pixels.Zip(b.Pixels, (x, y) => (double)Math.Abs(x - y)).Average();
}

/// <summary>The bundled model loaded once on the CPU for all tests, with the adherence scorer.</summary>
public sealed class BundledModelFixture : IDisposable
{
    public BundledModelFixture()
    {
        Backend = new CpuBackend(threads: 2);
        Model = StableDiffusionModel.Load(Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"), Backend);
        Generator = new Generator(Model);
        Scorer = HeldOutSet.Load(Path.Combine(TestPaths.RepoRoot, "tools", "train", "heldout.json")).CreateScorer();
    }

    public CpuBackend Backend { get; }
    public StableDiffusionModel Model { get; }
    public Generator Generator { get; }
    public AdherenceScorer Scorer { get; }

    public void Dispose()
    {
        Model.Dispose();
        Backend.Dispose();
    }
}

/// <summary>Every family's pipeline end to end on the tiny random fixtures (SDXL vector, refiner, SD 2.x, inpainting).</summary>
public sealed class FamilyPipelineTests
{
    [Theory]
    [InlineData("sd1", ModelFamily.SD1)]
    [InlineData("sd1-inpaint", ModelFamily.SD1)]
    [InlineData("sd2", ModelFamily.SD2)]
    [InlineData("sdxl", ModelFamily.SDXL)]
    [InlineData("refiner", ModelFamily.SDXLRefiner)]
    public void EachFamilyGeneratesAFiniteImage(string family, ModelFamily expected)
    {
        using var cpu = new CpuBackend(threads: 2);
        // The tiny encoders have 1000-token vocabularies: the bundled model's small tokenizer fits them.
        var options = new ModelLoadOptions { Tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer") };
        using var model = StableDiffusionModel.Load(TestPaths.Fixture("models", family, "diffusers"), cpu, options);
        Assert.Equal(expected, model.Family);
        var request = new GenerationRequest { Prompt = "a red circle", NegativePrompt = "blue", Seed = 1, Steps = 3, SamplerName = "Euler a", Width = 64, Height = 64 };
        var image = new Generator(model).Generate(request).Images[0];
        Assert.Equal((64, 64), (image.Image.Width, image.Image.Height));
        Assert.All(image.Latent!, v => Assert.True(float.IsFinite(v)));
        Assert.True(image.Latent!.Select(Math.Abs).Max() > 0);
    }
}

public sealed class MaskedContentTests : IClassFixture<BundledModelFixture>
{
    private readonly BundledModelFixture _f;

    public MaskedContentTests(BundledModelFixture fixture) => _f = fixture;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryMaskedContentModeRepaintsTheMaskOnly(int fill)
    {
        var request = new GenerationRequest { Prompt = "a small red circle on the left on a white background", Seed = 31, Steps = 8, SamplerName = "Euler", Width = 128, Height = 128 };
        var source = _f.Generator.Generate(request).Images[0].Image;
        var mask = new Image(128, 128, 1);
        for (int y = 0; y < 128; y++)
            for (int x = 64; x < 128; x++) mask.Pixels[y * 128 + x] = 255;
        var result = _f.Generator.Generate(request with
        {
            Prompt = "a large blue square on the right on a white background", InitImages = [source], Mask = mask,
            DenoisingStrength = 0.9, InpaintFullRes = false, InpaintingFill = fill, MaskBlurX = 0, MaskBlurY = 0,
        }).Images[0].Image;
        double left = 0;
        for (int y = 0; y < 128; y++)
            for (int x = 0; x < 60; x++)
                for (int c = 0; c < 3; c++) left += Math.Abs(result.Pixels[(y * 128 + x) * 3 + c] - source.Pixels[(y * 128 + x) * 3 + c]);
        Assert.True(left / (60 * 128 * 3) < 1, $"fill {fill}: unmasked half changed by {left / (60 * 128 * 3):F2}");
    }
}
