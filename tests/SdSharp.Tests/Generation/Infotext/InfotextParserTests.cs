using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

/// <summary>Infotexts in the form A1111 writes them (v1.0 to v1.10), and what its parse_generation_parameters makes of them.</summary>
public sealed class InfotextParserTests
{
    private const string Sdxl =
        "masterpiece, best quality, 1girl, (blue eyes:1.2), [smile], <lora:add_detail:0.5>\n"
        + "Negative prompt: (worst quality, low quality:1.4), watermark, text: bad, signature\n"
        + "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 3402852139, Size: 832x1216, "
        + "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, VAE hash: 235745af8d, VAE: sdxl_vae.safetensors, "
        + "Denoising strength: 0.45, Clip skip: 2, Hires upscale: 1.5, Hires steps: 15, Hires upscaler: R-ESRGAN 4x+, "
        + "Lora hashes: \"add_detail: 7c6bad76eb54\", TI hashes: \"easynegative: c74b4e810b03, badhandv4: 5e40d722fc3d\", "
        + "Version: v1.10.1";

    [Fact]
    public void ReadsPromptsAndEveryParameter()
    {
        var p = InfotextParser.Parse(Sdxl);
        Assert.Equal("masterpiece, best quality, 1girl, (blue eyes:1.2), [smile], <lora:add_detail:0.5>", p.Prompt);
        Assert.Equal("(worst quality, low quality:1.4), watermark, text: bad, signature", p.NegativePrompt);
        Assert.Equal("25", p.GetText("Steps"));
        Assert.Equal("DPM++ 2M", p.GetText("Sampler"));
        Assert.Equal("Karras", p.GetText("Schedule type"));
        Assert.Equal("7", p.GetText("CFG scale"));
        Assert.Equal("3402852139", p.GetText("Seed"));
        Assert.Equal("832", p.GetText("Size-1"));
        Assert.Equal("1216", p.GetText("Size-2"));
        Assert.False(p.Contains("Size"));
        Assert.Equal("31e35c80fc", p.GetText("Model hash"));
        Assert.Equal("sdxl_vae.safetensors", p.GetText("VAE"));
        Assert.Equal("R-ESRGAN 4x+", p.GetText("Hires upscaler"));
        Assert.Equal("add_detail: 7c6bad76eb54", p.GetText("Lora hashes"));
        Assert.Equal("easynegative: c74b4e810b03, badhandv4: 5e40d722fc3d", p.GetText("TI hashes"));
        Assert.Equal("v1.10.1", p.GetText("Version"));
        Assert.False(p.Contains("Downcast alphas_cumprod")); // a current version needs no compatibility flag
    }

    [Fact]
    public void FieldsComeInA1111sDictOrder()
    {
        var keys = InfotextParser.Parse(Sdxl).Fields.Select(f => f.Key).ToList();
        Assert.Equal(["Prompt", "Negative prompt", "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size-1", "Size-2"], keys.Take(9));
        // Then the written keys, then the defaults in the order A1111 adds them.
        Assert.Equal(["Version", "Hires resize-1", "Hires resize-2", "Hires sampler", "Hires checkpoint", "Hires prompt",
                      "Hires negative prompt", "Mask mode", "Masked content", "Inpaint area", "Masked area padding", "RNG",
                      "Schedule max sigma", "Schedule min sigma", "Schedule rho", "VAE Encoder", "VAE Decoder", "FP8 weight"],
                     keys.SkipWhile(k => k != "Version"));
    }

    [Fact]
    public void MissingKeysGetA1111sDefaultsWithTheirTypes()
    {
        // The example in parse_generation_parameters' own docstring (an early-2023 image).
        var p = InfotextParser.Parse(
            "girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate\n"
            + "Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing\n"
            + "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b");
        Assert.Equal("1", p["Clip skip"]);
        Assert.Equal("GPU", p["RNG"]);
        Assert.Equal("Automatic", p["Schedule type"]);
        Assert.Equal(0L, p["Hires resize-1"]);
        Assert.Equal(0L, p["Hires resize-2"]);
        Assert.Equal("Use same sampler", p["Hires sampler"]);
        Assert.Equal("Use same checkpoint", p["Hires checkpoint"]);
        Assert.Equal("", p["Hires prompt"]);
        Assert.Equal("Inpaint masked", p["Mask mode"]);
        Assert.Equal("original", p["Masked content"]);
        Assert.Equal("Whole picture", p["Inpaint area"]);
        Assert.Equal(32L, p["Masked area padding"]);
        Assert.Equal(0L, p["Schedule rho"]);
        Assert.Equal("Full", p["VAE Decoder"]);
        Assert.Equal("Disable", p["FP8 weight"]);
        Assert.False(p.Contains("Cache FP16 weight for LoRA"));
        Assert.False(p.IsWritten("RNG"));
        Assert.True(p.IsWritten("Steps"));
        Assert.StartsWith("ugly, fat", p.NegativePrompt);
    }

    [Fact]
    public void Fp8ImagesGetTheLoraCacheDefault()
    {
        var p = InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, FP8 weight: Enable for SDXL");
        Assert.Equal(false, p["Cache FP16 weight for LoRA"]);
    }

    [Fact]
    public void MultiLinePromptsKeepInnerLinesAndStripEachLine()
    {
        var p = InfotextParser.Parse(
            "  a castle on a hill,  \n\n  golden hour: warm light\nsecond: part, third: part\n"
            + "Negative prompt:   lowres,\nbad hands, text: watermark\n"
            + "Steps: 30, Sampler: Euler a, Schedule type: Automatic, CFG scale: 5.5, Seed: 42, Size: 768x512, RNG: CPU");
        Assert.Equal("a castle on a hill,\n\ngolden hour: warm light\nsecond: part, third: part", p.Prompt);
        Assert.Equal("lowres,\nbad hands, text: watermark", p.NegativePrompt);
        Assert.Equal("CPU", p["RNG"]);
    }

    [Fact]
    public void AnEmptyFirstLineAddsNoSeparator()
    {
        // A1111 joins lines onto the text so far only when it is non-empty.
        var p = InfotextParser.Parse("first\nNegative prompt:\nsecond\nSteps: 1, Seed: 2, CFG scale: 3");
        Assert.Equal("second", p.NegativePrompt);
    }

    [Fact]
    public void ALastLineWithFewerThanThreeParametersIsPrompt()
    {
        var p = InfotextParser.Parse("portrait of a woman\nlighting: soft, style: film");
        Assert.Equal("portrait of a woman\nlighting: soft, style: film", p.Prompt);
        Assert.False(p.Contains("lighting"));
        Assert.Equal("GPU", p["RNG"]); // the defaults are still filled in

        var three = InfotextParser.Parse("portrait of a woman\nlighting: soft, style: film, grain: fine");
        Assert.Equal("portrait of a woman", three.Prompt);
        Assert.Equal("fine", three["grain"]);
    }

    [Fact]
    public void QuotedValuesAreJsonDecoded()
    {
        var p = InfotextParser.Parse(
            "p\nSteps: 20, Sampler: Euler, Seed: 7, Hires prompt: \"a \\\"red\\\" car,\\nat night: city\", "
            + "Hires negative prompt: \"café, 東京\", Broken: \"bad \\x\", Eta: 0.5");
        Assert.Equal("a \"red\" car,\nat night: city", p["Hires prompt"]);
        Assert.Equal("café, 東京", p["Hires negative prompt"]);
        Assert.Equal("\"bad \\x\"", p["Broken"]); // not JSON: kept as written
        Assert.Equal("0.5", p["Eta"]);
    }

    [Fact]
    public void SizesSplitIntoTwoKeys()
    {
        var p = InfotextParser.Parse(
            "p\nSteps: 20, Sampler: Euler, Seed: 7, Size: 512x512, Variation seed: 99, Variation seed strength: 0.3, "
            + "Seed resize from: 640x480, Hires resize: 1024x0, Quoted size: \"256x128\", Not size: 12x34px");
        Assert.Equal(("640", "480"), (p["Seed resize from-1"], p["Seed resize from-2"]));
        Assert.Equal(("1024", "0"), (p["Hires resize-1"], p["Hires resize-2"]));
        Assert.Equal(("256", "128"), (p["Quoted size-1"], p["Quoted size-2"]));
        Assert.Equal("12x34px", p["Not size"]);
        Assert.Equal("99", p["Variation seed"]);
    }

    [Fact]
    public void EmptyValuesAreDroppedAndLaterDuplicatesWin()
    {
        var p = InfotextParser.Parse("p\nSteps: 20, Model: , Sampler: Euler, Seed: 1, Steps: 30");
        Assert.False(p.Contains("Model"));
        Assert.Equal("30", p["Steps"]);
        Assert.Equal("Steps", p.Fields[2].Key);
    }

    [Fact]
    public void UnquotedColonsAndWindowsLineEndings()
    {
        var p = InfotextParser.Parse("a dog\r\nNegative prompt: cat\r\nSteps: 20, Sampler: Euler, Model: folder:model, Seed: 5\r\n");
        Assert.Equal("a dog", p.Prompt);
        Assert.Equal("cat", p.NegativePrompt);
        Assert.Equal("folder:model", p["Model"]);
    }

    [Fact]
    public void HypernetworksAreAddedToThePrompt()
    {
        var p = InfotextParser.Parse("a cat\nSteps: 20, Sampler: Euler, Seed: 1, Hypernet: anime_3, Hypernet strength: 0.8");
        Assert.Equal("a cat<hypernet:anime_3:0.8>", p.Prompt);
        Assert.Equal("a dog<hypernet:x:1.0>", InfotextParser.Parse("a dog\nSteps: 1, Seed: 1, Hypernet: x").Prompt);
    }

    [Fact]
    public void OldHiresFixSizesAreRewritten()
    {
        // "First pass size: 0x0" asked A1111 to pick a first pass of about 512×512 pixels.
        var auto = InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, Size: 1024x1024, First pass size: 0x0, Denoising strength: 0.7");
        Assert.Equal((512L, 512L), (auto["Size-1"], auto["Size-2"]));
        Assert.Equal((1024L, 1024L), (auto["Hires resize-1"], auto["Hires resize-2"]));

        var given = InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, Size: 1280x768, First pass size: 640x384");
        Assert.Equal((640L, 384L), (given["Size-1"], given["Size-2"]));
        Assert.Equal((1280L, 768L), (given["Hires resize-1"], given["Hires resize-2"]));

        var wide = InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, Size: 1920x1080, First pass size: 0x0");
        Assert.Equal((704L, 384L), (wide["Size-1"], wide["Size-2"])); // ceil(√(512²/(1920·1080))·w/64)·64
    }

    [Theory]
    [InlineData("v1.5.1", true, true, true)]
    [InlineData("v1.6.0", false, false, true)]
    [InlineData("v1.7.0", false, false, true)] // the release itself predates the fix 225 commits later
    [InlineData("v1.7.0-133-g7d4f2b1a", false, false, true)]
    [InlineData("v1.7.0-225-gabcdef12", false, false, false)]
    [InlineData("v1.7.0-RC-5-gf92d6149", false, false, true)]
    [InlineData("1.8.0-RC", false, false, false)]
    [InlineData("v1.10.1", false, false, false)]
    [InlineData("SdSharp v0.1.0", false, false, false)] // not a version: no flags
    [InlineData("f0.0.17v1.8.0rc-latest-276-g29be1da7", false, false, false)] // Forge's: not a version either
    public void OldVersionsGetCompatibilityFlags(string version, bool oldTimelines, bool padConds, bool downcast)
    {
        var p = InfotextParser.Parse($"[cat:dog:10]\nSteps: 20, Sampler: DDIM, Seed: 1, Version: {version}");
        Assert.Equal(oldTimelines, p.Contains("Old prompt editing timelines"));
        Assert.Equal(padConds, p.Contains("Pad conds v0"));
        Assert.Equal(downcast, p.Contains("Downcast alphas_cumprod"));
        if (downcast) Assert.Equal(true, p["Downcast alphas_cumprod"]);
    }

    [Fact]
    public void RefinerImagesBefore180SwitchBySteps()
    {
        var p = InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8, Version: 1.8.0-RC");
        Assert.Equal(true, p["Refiner switch by sampling steps"]);
        Assert.False(InfotextParser.Parse("p\nSteps: 20, Sampler: Euler, Seed: 1, Refiner: r [1], Version: v1.8.0").Contains("Refiner switch by sampling steps"));
    }

    [Fact]
    public void ParametersWrittenAsAPromptKeyOverrideIt()
    {
        // A1111 stores the prompt under "Prompt" first, so a "Prompt:" parameter replaces it.
        var p = InfotextParser.Parse("real prompt\nSteps: 1, Seed: 2, Prompt: from params");
        Assert.Equal("from params", p.Prompt);
    }

    [Fact]
    public void EmptyTextIsAnEmptyPrompt()
    {
        var p = InfotextParser.Parse("  ");
        Assert.Equal("", p.Prompt);
        Assert.Equal("1", p["Clip skip"]);
    }
}
