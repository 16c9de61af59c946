using SdSharp.Generation;
using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

/// <summary>What we write, read back the way A1111 reads it, is what we wrote.</summary>
public sealed class InfotextRoundTripTests
{
    [Fact]
    public void BuiltParametersParseBackToTheSameValues()
    {
        var infotext = new InfotextBuilder(
                "a portrait, (detailed:1.2)\nsecond line: with colon, and comma\n[cat:dog:0.5] 東京",
                "lowres, text: \"quoted\", back\\slash\nline two")
            .Set("Steps", 30L)
            .Set("Sampler", "DPM++ SDE")
            .Set("Schedule type", "Karras")
            .Set("CFG scale", 4.5)
            .Set("Seed", 4294967294L)
            .Set("Size", "1024x1536")
            .Set("Model", "juggernaut, v9: final")
            .Set("Seed resize from", "512x512")
            .Set("Denoising strength", 1e-05)
            .Set("Hires prompt", "a \"hires\" prompt,\nwith lines: é")
            .Set("Lora hashes", "a: 0123456789ab, b: ba9876543210")
            .Set("Downcast alphas_cumprod", true)
            .Set("Version", InfotextFactory.SdSharpVersion)
            .Build();

        var parsed = InfotextParser.Parse(infotext.Text);
        Assert.Equal(infotext.Prompt, parsed.Prompt);
        Assert.Equal(infotext.NegativePrompt, parsed.NegativePrompt);
        foreach (var (key, value) in infotext.Parameters)
        {
            if (value.Split('x') is [var w, var h] && w.All(char.IsAsciiDigit) && h.All(char.IsAsciiDigit))
                Assert.Equal((w, h), (parsed.GetText(key + "-1"), parsed.GetText(key + "-2")));
            else
                Assert.Equal(value, parsed.GetText(key));
        }
    }

    public static TheoryData<GenerationRequest> Requests() =>
    [
        new GenerationRequest { Prompt = "a cat", SamplerName = "DPM++ 2M", Steps = 20, Rng = "cpu" },
        new GenerationRequest
        {
            Prompt = "castle, sunset: golden\nsecond line, 城",
            NegativePrompt = "blurry, \"text\"",
            SamplerName = "Euler a",
            Steps = 35,
            CfgScale = 5.5,
            Seed = 4294967294,
            Width = 768,
            Height = 512,
            Subseed = 123,
            SubseedStrength = 0.35,
            SeedResizeFromW = 512,
            SeedResizeFromH = 384,
            ClipSkip = 2,
            EtaNoiseSeedDelta = 31337,
            Eta = 0.66,
            Tiling = true,
            Rng = "nv",
        },
        new GenerationRequest
        {
            Prompt = "landscape",
            NegativePrompt = "people",
            SamplerName = "DPM++ 2M SDE",
            Scheduler = "Karras",
            Seed = 7,
            EnableHr = true,
            HrScale = 1.5,
            HrUpscaler = "Latent (nearest-exact)",
            HrSecondPassSteps = 12,
            DenoisingStrength = 0.4,
            HrSamplerName = "Euler",
            HrScheduler = "Exponential",
            HrPrompt = "landscape, sharp details",
            HrNegativePrompt = "people, blur",
        },
        new GenerationRequest
        {
            Prompt = "portrait",
            SamplerName = "UniPC",
            Seed = 99,
            EnableHr = true,
            HrResizeX = 1024,
            HrResizeY = 1280,
            DenoisingStrength = 0.3,
        },
        new GenerationRequest { Prompt = "x", SamplerName = "DDIM", Eta = 0.2, Seed = 1, Steps = 50 },
    ];

    [Theory]
    [MemberData(nameof(Requests))]
    public void RequestsSurviveWritingAndReading(GenerationRequest request)
    {
        var infotext = InfotextFactory.Create(request, new InfotextFacts { Seed = request.Seed, Subseed = request.Subseed, ModelName = "m", ModelHash = "0123456789" });
        var back = InfotextRequest.From(InfotextParser.Parse(infotext.Text));
        Assert.Equal(request, back.Request);
        Assert.Equal(("m", "0123456789"), (back.ModelName, back.ModelHash));
        Assert.Empty(back.Warnings);
    }
}
