using SdSharp.Generation;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class InfotextFactoryTests
{
    private static readonly InfotextFacts Sd15 = new()
    {
        Seed = 1234,
        ModelName = "v1-5-pruned-emaonly",
        ModelHash = "6ce0161689",
        Version = "SdSharp v0.1.0",
    };

    private static readonly GenerationRequest Txt2Img = new()
    {
        Prompt = "a cat, (tabby:1.2)",
        NegativePrompt = "blurry",
        Steps = 20,
        SamplerName = "DPM++ 2M",
        Width = 512,
        Height = 768,
    };

    [Fact]
    public void Txt2ImgIsWrittenLikeA1111()
    {
        Assert.Equal(
            "a cat, (tabby:1.2)\nNegative prompt: blurry\n"
            + "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x768, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, RNG: CPU, Version: SdSharp v0.1.0",
            InfotextFactory.Create(Txt2Img, Sd15).Text);
    }

    [Theory]
    [InlineData("Euler a", null, "Euler a", "Automatic")] // no schedule of its own: the label stays
    [InlineData("DPM++ 2M Karras", null, "DPM++ 2M", "Karras")] // legacy name split
    [InlineData("DPM++ 2M SDE", null, "DPM++ 2M SDE", "Exponential")]
    [InlineData("Euler", "Karras", "Euler", "Karras")]
    [InlineData("DPM++ 2M", "Automatic", "DPM++ 2M", "Karras")]
    [InlineData("DDIM", null, "DDIM", "Automatic")] // timestep samplers keep the label given
    [InlineData("UniPC", "Karras", "UniPC", "Karras")]
    [InlineData(null, null, "Euler", "Automatic")] // A1111's API default sampler
    public void SamplerAndScheduleAreTheOnesUsed(string? sampler, string? scheduler, string expectedSampler, string expectedSchedule)
    {
        var infotext = InfotextFactory.Create(Txt2Img with { SamplerName = sampler, Scheduler = scheduler }, Sd15);
        Assert.Equal(expectedSampler, infotext["Sampler"]);
        Assert.Equal(expectedSchedule, infotext["Schedule type"]);
    }

    [Fact]
    public void UnknownSamplersAreRefused()
    {
        Assert.Throws<InvalidInputException>(() => InfotextFactory.Create(Txt2Img with { SamplerName = "Euler b" }, Sd15));
        Assert.Throws<InvalidInputException>(() => InfotextFactory.Create(Txt2Img with { Rng = "quantum" }, Sd15));
    }

    [Fact]
    public void HiresFixAddsItsParametersInA1111Order()
    {
        var request = Txt2Img with
        {
            EnableHr = true,
            HrScale = 2,
            HrUpscaler = "Latent",
            HrSecondPassSteps = 10,
            DenoisingStrength = 0.55,
            HrPrompt = "a cat, detailed fur",
            HrSamplerName = "Euler a",
            HrScheduler = "Exponential",
        };
        var facts = Sd15 with
        {
            Loras = [new("add_detail", "7c6bad76eb54"), new("more:details,v2", "3b8aa1d351ef"), new("add_detail", "7c6bad76eb55")],
            Embeddings = [new("easynegative", "c74b4e810b03")],
        };
        Assert.Equal(
            "a cat, (tabby:1.2)\nNegative prompt: blurry\n"
            + "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x768, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.55, RNG: CPU, "
            + "Hires sampler: Euler a, Hires prompt: \"a cat, detailed fur\", Hires schedule type: Exponential, "
            + "Hires upscale: 2.0, Hires steps: 10, Hires upscaler: Latent, "
            + "Lora hashes: \"add_detail: 7c6bad76eb55, moredetailsv2: 3b8aa1d351ef\", TI hashes: \"easynegative: c74b4e810b03\", "
            + "Version: SdSharp v0.1.0",
            InfotextFactory.Create(request, facts).Text);
    }

    [Fact]
    public void HiresResizeAndDefaults()
    {
        var infotext = InfotextFactory.Create(Txt2Img with { EnableHr = true, HrResizeX = 1024, HrResizeY = 1536 }, Sd15);
        Assert.Equal("1024x1536", infotext["Hires resize"]);
        Assert.Null(infotext["Hires upscale"]);
        Assert.Equal("0.7", infotext["Denoising strength"]);
        Assert.Null(infotext["Hires upscaler"]); // not given: A1111 writes none
        Assert.Null(infotext["Hires schedule type"]); // the same Karras as the first pass
    }

    [Fact]
    public void SeedsAndSettings()
    {
        var request = Txt2Img with
        {
            SamplerName = "Euler a",
            SubseedStrength = 0.25,
            SeedResizeFromW = 640,
            SeedResizeFromH = 480,
            ClipSkip = 2,
            EtaNoiseSeedDelta = 31337,
            Rng = "nv",
            Tiling = true,
            Eta = 0.5,
        };
        var infotext = InfotextFactory.Create(request, Sd15 with { Subseed = 987 });
        Assert.Equal(
            "Steps: 20, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7.0, Seed: 1234, Size: 512x768, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Variation seed: 987, Variation seed strength: 0.25, "
            + "Seed resize from: 640x480, Clip skip: 2, ENSD: 31337, RNG: NV, Tiling: True, Eta: 0.5, Version: SdSharp v0.1.0",
            infotext.Text.Split('\n')[^1]);
    }

    [Fact]
    public void EnsdOnlyWhereItChangesSomething()
    {
        Assert.Null(InfotextFactory.Create(Txt2Img with { EtaNoiseSeedDelta = 31337 }, Sd15)["ENSD"]); // DPM++ 2M draws no noise
        Assert.Null(InfotextFactory.Create(Txt2Img with { SamplerName = "Euler a", Eta = 0, EtaNoiseSeedDelta = 31337 }, Sd15)["ENSD"]);
        Assert.Equal("31337", InfotextFactory.Create(Txt2Img with { SamplerName = "DPM++ 2S a", EtaNoiseSeedDelta = 31337 }, Sd15)["ENSD"]);
        Assert.Null(InfotextFactory.Create(Txt2Img with { SamplerName = "Euler a", Eta = 1.0 }, Sd15)["Eta"]); // the default
        Assert.Equal("0.3", InfotextFactory.Create(Txt2Img with { SamplerName = "DDIM", Eta = 0.3 }, Sd15)["Eta DDIM"]);
    }

    [Fact]
    public void RngGpuIsWrittenAsNv()
    {
        // SdSharp's "gpu" is A1111's NV generator; A1111's GPU (CUDA randn, written as no RNG at all) is not reproducible.
        Assert.Equal("NV", InfotextFactory.Create(Txt2Img with { Rng = "gpu" }, Sd15)["RNG"]);
    }

    [Fact]
    public void InpaintingAddsItsParameters()
    {
        var image = new Image(8, 8, 3);
        var request = Txt2Img with
        {
            InitImages = [image],
            Mask = new Image(8, 8, 1),
            DenoisingStrength = 0.6,
            InpaintFullResPadding = 32,
            InpaintingFill = 0,
            InpaintingMaskInvert = 1,
            InitialNoiseMultiplier = 0.9,
        };
        var facts = Sd15 with { ConditionalMaskWeight = 1.0, VaeName = "vae-ft-mse-840000-ema-pruned.safetensors", VaeHash = "735e4c3a44" };
        Assert.Equal(
            "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x768, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000-ema-pruned.safetensors, "
            + "Denoising strength: 0.6, Conditional mask weight: 1.0, RNG: CPU, Mask mode: Inpaint not masked, Mask blur: 4, "
            + "Inpaint area: Only masked, Masked area padding: 32, Masked content: fill, Noise multiplier: 0.9, Version: SdSharp v0.1.0",
            InfotextFactory.Create(request, facts).Text.Split('\n')[^1]);

        var uneven = InfotextFactory.Create(request with { MaskBlurX = 4, MaskBlurY = 8, InpaintingFill = 1, InpaintFullRes = false }, facts);
        Assert.Null(uneven["Mask blur"]); // A1111's mask_blur is None when the directions differ
        Assert.Null(uneven["Masked content"]);
        Assert.Null(uneven["Inpaint area"]);

        var blank = InfotextFactory.Create(request, facts with { MaskWasBlank = true });
        Assert.Null(blank["Inpaint area"]);
        Assert.Null(blank["Masked content"]);

        var img2img = InfotextFactory.Create(Txt2Img with { InitImages = [image] }, Sd15);
        Assert.Equal("0.75", img2img["Denoising strength"]);
        Assert.Null(img2img["Mask blur"]);
    }

    [Fact]
    public void RefinerAndOverrides()
    {
        var request = Txt2Img with { RefinerCheckpoint = "sd_xl_refiner_1.0", RefinerSwitchAt = 0.8 };
        var infotext = InfotextFactory.Create(request, Sd15 with
        {
            Refiner = "sd_xl_refiner_1.0 [7440042bbd]",
            Prompt = "styled prompt",
            Width = 1024,
            Height = 1024,
            DenoisingStrength = 0.3,
            User = "alice",
            Version = null,
        });
        Assert.Equal(
            "styled prompt\nNegative prompt: blurry\n"
            + "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 1024x1024, "
            + "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, RNG: CPU, "
            + "Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8, User: alice",
            infotext.Text);
    }

    [Fact]
    public void OurVersionIsNotAPep440VersionSoA1111SetsNoCompatibilityFlags()
    {
        Assert.StartsWith("SdSharp v", InfotextFactory.SdSharpVersion);
        Assert.Equal(new InfotextFacts { Seed = 1 }.Version, InfotextFactory.SdSharpVersion);
        Assert.Null(InfotextDefaults.ParseVersion(InfotextFactory.SdSharpVersion));
    }
}
