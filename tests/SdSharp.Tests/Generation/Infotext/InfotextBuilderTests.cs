using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class InfotextBuilderTests
{
    [Fact]
    public void FixedKeysKeepA1111OrderWhateverOrderTheyAreSet()
    {
        var text = new InfotextBuilder("a cat", "blurry")
            .Set("Hires upscale", 2.0)
            .Set("Version", "v1.10.1")
            .Set("Seed", 1234L)
            .Set("Size", "512x768")
            .Set("Lora hashes", "add_detail: 7c6bad76eb54")
            .Set("CFG scale", 7.0)
            .Set("Steps", 20L)
            .Set("Schedule type", "Karras")
            .Set("Sampler", "DPM++ 2M")
            .Set("Denoising strength", 0.5)
            .Build().Text;
        Assert.Equal(
            "a cat\nNegative prompt: blurry\n"
            + "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x768, "
            + "Denoising strength: 0.5, Hires upscale: 2.0, Lora hashes: \"add_detail: 7c6bad76eb54\", Version: v1.10.1",
            text);
    }

    [Fact]
    public void ResettingAKeyKeepsItsPlaceAndNullMeansNone()
    {
        var infotext = new InfotextBuilder("p")
            .Set("Steps", 20L)
            .Set("Mask blur", 4L)
            .Set("Hires upscaler", "Latent")
            .Set("Mask blur", 8L)
            .Set("Face restoration", (string?)null)
            .Set("Eta", (double?)null)
            .Build();
        Assert.Equal(["Steps", "Mask blur", "Hires upscaler"], infotext.Parameters.Select(p => p.Key));
        Assert.Equal("8", infotext["Mask blur"]);
        Assert.Null(infotext["Eta"]);
    }

    [Fact]
    public void NoNegativePromptLineWhenEmptyAndTheWholeIsStripped()
    {
        Assert.Equal("a cat\nSteps: 20", new InfotextBuilder("  a cat").Set("Steps", 20L).Build().Text);
        Assert.Equal("Steps: 20", new InfotextBuilder("").Set("Steps", 20L).Build().Text);
        Assert.Equal("a cat", new InfotextBuilder("a cat\n").Build().Text);
    }

    [Fact]
    public void AValueEqualToItsKeyIsWrittenAlone()
    {
        Assert.Equal("p\nSteps: 1, Flag", new InfotextBuilder("p").Set("Steps", 1L).Set("Flag", "Flag").Build().Text);
    }

    [Fact]
    public void BooleansAndTiling()
    {
        Assert.Equal("p\nTiling: True, Downcast alphas_cumprod: True",
                     new InfotextBuilder("p").Set("Downcast alphas_cumprod", true).Set("Tiling", "True").Build().Text);
    }
}
