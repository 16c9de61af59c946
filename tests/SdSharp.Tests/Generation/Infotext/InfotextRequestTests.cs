using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class InfotextRequestTests
{
    private static InfotextRequest Map(string text) => InfotextRequest.From(InfotextParser.Parse(text));

    [Fact]
    public void MapsAnA1111Txt2ImgWithHiresFix()
    {
        var result = Map(
            "masterpiece, 1girl\nNegative prompt: lowres\n"
            + "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 3402852139, Size: 512x768, Model hash: 6ce0161689, "
            + "Model: v1-5-pruned-emaonly, VAE: vae-ft-mse-840000-ema-pruned.safetensors, Denoising strength: 0.45, Clip skip: 2, "
            + "ENSD: 31337, Hires upscale: 2, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+, Version: v1.6.0");
        var r = result.Request;
        Assert.Equal("masterpiece, 1girl", r.Prompt);
        Assert.Equal("lowres", r.NegativePrompt);
        Assert.Equal(28, r.Steps);
        Assert.Equal("DPM++ 2M", r.SamplerName);
        Assert.Null(r.Scheduler); // Karras is DPM++ 2M's own: "Automatic"
        Assert.Equal(6.5, r.CfgScale);
        Assert.Equal(3402852139, r.Seed);
        Assert.Equal((512, 768), (r.Width, r.Height));
        Assert.Equal(2, r.ClipSkip);
        Assert.Equal(31337, r.EtaNoiseSeedDelta);
        Assert.Equal("gpu", r.Rng); // no RNG key: A1111's default GPU generator
        Assert.True(r.EnableHr);
        Assert.Equal(2.0, r.HrScale);
        Assert.Equal(15, r.HrSecondPassSteps);
        Assert.Equal("R-ESRGAN 4x+", r.HrUpscaler);
        Assert.Equal(0.45, r.DenoisingStrength);
        Assert.Null(r.HrSamplerName);
        Assert.Null(r.HrScheduler);
        Assert.Equal(("v1-5-pruned-emaonly", "6ce0161689", "vae-ft-mse-840000-ema-pruned.safetensors"),
                     (result.ModelName, result.ModelHash, result.VaeName));
        Assert.Equal("True", r.OverrideSettings!["use_downcasted_alpha_bar"]); // v1.6.0 predates the fix
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("DPM++ 2M", "Karras", "DPM++ 2M", null)]
    [InlineData("DPM++ 2M", "Exponential", "DPM++ 2M", "Exponential")]
    [InlineData("DPM++ SDE Karras", "Automatic", "DPM++ SDE", null)]
    [InlineData("DPM++ 2M SDE Heun Exponential", "Automatic", "DPM++ 2M SDE Heun", null)]
    [InlineData("Euler a", "Automatic", "Euler a", null)]
    [InlineData("LMS Karras", "Automatic", "LMS", "Karras")]
    [InlineData("Euler SGMUniform", "Automatic", "Euler", "SGM Uniform")]
    [InlineData("DDIM", "Automatic", "DDIM", null)]
    [InlineData("DPM++ 2M", "Bogus", "DPM++ 2M", null)]
    public void SamplerNamesGoThroughA1111sResolution(string sampler, string schedule, string expectedSampler, string? expectedSchedule)
    {
        var r = Map($"p\nSteps: 20, Sampler: {sampler}, Schedule type: {schedule}, Seed: 1").Request;
        Assert.Equal(expectedSampler, r.SamplerName);
        Assert.Equal(expectedSchedule, r.Scheduler);
    }

    [Fact]
    public void UnknownSamplersFallBackWithAWarning()
    {
        var result = Map("p\nSteps: 20, Sampler: Euler Dy, Seed: 1");
        Assert.Equal("DPM++ 2M", result.Request.SamplerName);
        Assert.Contains("Euler Dy", Assert.Single(result.Warnings));
        Assert.Equal("DPM++ 2M", Map("p\nSteps: 20, Seed: 1, CFG scale: 7").Request.SamplerName); // none given
    }

    [Fact]
    public void UnreadableNumbersKeepDefaultsWithWarnings()
    {
        var result = Map("p\nSteps: many, Sampler: Euler, Seed: 1.5, CFG scale: 7,5, Size: 512x512");
        Assert.Equal(50, result.Request.Steps);
        Assert.Equal(-1, result.Request.Seed);
        Assert.Equal(7.0, result.Request.CfgScale); // "7" then a stray "5": re_param reads "CFG scale: 7"
        Assert.Equal(2, result.Warnings.Count);
    }

    [Fact]
    public void VariationSeedsAndRng()
    {
        var r = Map("p\nSteps: 20, Sampler: Euler, Seed: 5, Variation seed: 77, Variation seed strength: 0.3, "
                    + "Seed resize from: 640x480, RNG: CPU, Tiling: True, Eta: 0.7").Request;
        Assert.Equal((77L, 0.3), (r.Subseed, r.SubseedStrength));
        Assert.Equal((640, 480), (r.SeedResizeFromW, r.SeedResizeFromH));
        Assert.Equal("cpu", r.Rng);
        Assert.True(r.Tiling);
        Assert.Equal(0.7, r.Eta);
        Assert.Equal("nv", Map("p\nSteps: 20, Seed: 5, RNG: NV").Request.Rng);
        Assert.False(r.EnableHr);
    }

    [Fact]
    public void Img2ImgInpaintingIsNotHiresFix()
    {
        // A1111 itself turns hires fix on here (its test counts the "Hires resize-1" it fills in); we do not.
        var r = Map("p\nSteps: 20, Sampler: Euler a, Seed: 5, Size: 512x512, Denoising strength: 0.6, Mask blur: 8, "
                    + "Inpaint area: Only masked, Masked area padding: 16, Masked content: latent noise, Noise multiplier: 0.9").Request;
        Assert.False(r.EnableHr);
        Assert.Equal(0.6, r.DenoisingStrength);
        Assert.Equal((8, 8), (r.MaskBlurX, r.MaskBlurY));
        Assert.True(r.InpaintFullRes);
        Assert.Equal(16, r.InpaintFullResPadding);
        Assert.Equal(2, r.InpaintingFill);
        Assert.Equal(0.9, r.InitialNoiseMultiplier);

        var whole = Map("p\nSteps: 20, Sampler: Euler a, Seed: 5, Denoising strength: 0.6, Mask mode: Inpaint not masked").Request;
        Assert.False(whole.InpaintFullRes); // absent means "Whole picture"
        Assert.Equal(32, whole.InpaintFullResPadding);
        Assert.Equal(1, whole.InpaintingFill); // "original"
        Assert.Equal(1, whole.InpaintingMaskInvert);
    }

    [Fact]
    public void HiresSamplerPromptsResizeAndRefiner()
    {
        var r = Map("p\nNegative prompt: n\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, Seed: 5, Denoising strength: 0.5, "
                    + "Hires sampler: Euler a, Hires prompt: \"p, sharp\", Hires schedule type: Exponential, Hires resize: 1024x1536, "
                    + "Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8").Request;
        Assert.True(r.EnableHr);
        Assert.Equal("Euler a", r.HrSamplerName);
        Assert.Equal("Exponential", r.HrScheduler);
        Assert.Equal("p, sharp", r.HrPrompt);
        Assert.Equal("", r.HrNegativePrompt);
        Assert.Equal((1024, 1536), (r.HrResizeX, r.HrResizeY));
        Assert.Equal("sd_xl_refiner_1.0 [7440042bbd]", r.RefinerCheckpoint);
        Assert.Equal(0.8, r.RefinerSwitchAt);
    }

    [Fact]
    public void SettingsThatDifferFromA1111sDefaultsBecomeOverrides()
    {
        var r = Map("p\nSteps: 20, Sampler: Euler, Seed: 5, Emphasis: No norm, Schedule rho: 0, Schedule max sigma: 20, "
                    + "Pad conds: True, Version: v1.10.1").Request;
        Assert.Equal(["emphasis=No norm", "pad_cond_uncond=True", "sigma_max=20"],
                     r.OverrideSettings!.Select(o => $"{o.Key}={o.Value}").Order());
        Assert.Null(Map("p\nSteps: 20, Sampler: Euler, Seed: 5, Version: v1.10.1").Request.OverrideSettings);
    }
}
