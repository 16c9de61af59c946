using SdSharp.IO;
using SdSharp.Models;

namespace SdSharp.Tests.Models;

public sealed class CheckpointTests
{
    public static TheoryData<string, ModelFamily, bool> Fixtures() => new()
    {
        { "sd1", ModelFamily.SD1, false },
        { "sd2", ModelFamily.SD2, false },
        { "sdxl", ModelFamily.SDXL, false },
        { "refiner", ModelFamily.SDXLRefiner, false },
        { "sd1-inpaint", ModelFamily.SD1, true },
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TinySingleFilesAreDetectedAndSplitIntoNetworks(string family, ModelFamily expected, bool inpainting)
    {
        using var checkpoint = Checkpoint.Open(ModelFixtures.SingleFile(family), new CheckpointOptions { ConfigFrom = ModelFixtures.DiffusersFolder(family) });
        Assert.Equal(expected, checkpoint.Family);
        Assert.Equal(inpainting, checkpoint.IsInpainting);
        AssertNetworks(checkpoint);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void TinyDiffusersFoldersAreDetectedAndSplitIntoNetworks(string family, ModelFamily expected, bool inpainting)
    {
        using var checkpoint = Checkpoint.Open(ModelFixtures.DiffusersFolder(family));
        Assert.Equal(expected, checkpoint.Family);
        Assert.Equal(inpainting, checkpoint.IsInpainting);
        AssertNetworks(checkpoint);
    }

    /// <summary>Both layouts give each network the same canonical names.</summary>
    [Theory]
    [MemberData(nameof(Fixtures))]
    public void BothLayoutsGiveTheSameCanonicalNames(string family, ModelFamily expected, bool inpainting)
    {
        _ = (expected, inpainting);
        using var single = Checkpoint.Open(ModelFixtures.SingleFile(family), new CheckpointOptions { ConfigFrom = ModelFixtures.DiffusersFolder(family) });
        using var folder = Checkpoint.Open(ModelFixtures.DiffusersFolder(family));
        Assert.Equal(folder.Unet.Names.Order(), single.Unet.Names.Order());
        Assert.Equal(folder.Vae!.Names.Order(), single.Vae!.Names.Order());
        foreach (string name in folder.Unet.Names.Take(50))
            Assert.True(folder.Unet.Get(name).Bytes.SequenceEqual(single.Unet.Get(name).Bytes), name);
        // SD 2's original file holds one text-encoder block more than diffusers keeps (the unused last one).
        if (folder.TextEncoder != null) Assert.Subset(single.TextEncoder!.Names.ToHashSet(), folder.TextEncoder.Names.ToHashSet());
        if (folder.TextEncoder2 != null) Assert.Equal(folder.TextEncoder2.Names.Order(), single.TextEncoder2!.Names.Order());
    }

    private static void AssertNetworks(Checkpoint c)
    {
        Assert.NotEmpty(c.Unet.Names);
        Assert.NotNull(c.Vae);
        bool clip = c.Family != ModelFamily.SDXLRefiner, bigG = c.Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner;
        Assert.Equal(clip, c.TextEncoder != null);
        Assert.Equal(bigG, c.TextEncoder2 != null);
        Assert.Empty(c.Unet.Unclaimed);
    }

    public static TheoryData<string, ModelFamily, int[], int[], int, bool> FullSize() => new()
    {
        { "sd1", ModelFamily.SD1, [320, 640, 1280, 1280], [8, 8, 8, 8], 768, false },
        { "sd1-inpaint", ModelFamily.SD1, [320, 640, 1280, 1280], [8, 8, 8, 8], 768, true },
        { "sd2", ModelFamily.SD2, [320, 640, 1280, 1280], [5, 10, 20, 20], 1024, false },
        { "sdxl", ModelFamily.SDXL, [320, 640, 1280], [5, 10, 20], 2048, false },
        { "refiner", ModelFamily.SDXLRefiner, [384, 768, 1536, 1536], [6, 12, 24, 24], 1280, false },
    };

    [Theory]
    [MemberData(nameof(FullSize))]
    public void FullSizeCheckpointsAreDetectedFromTheirShapes(string family, ModelFamily expected, int[] channels, int[] heads, int context, bool inpainting)
    {
        using var checkpoint = Checkpoint.Read(new ShapeOnlyTensorFile(family));
        Assert.Equal(expected, checkpoint.Family);
        Assert.Equal(inpainting, checkpoint.IsInpainting);
        Assert.Equal(channels, checkpoint.UnetConfig.LevelChannels);
        Assert.Equal(heads, checkpoint.UnetConfig.Heads);
        Assert.Equal(context, checkpoint.UnetConfig.ContextDim);
        Assert.Equal(2, checkpoint.UnetConfig.ResBlocksPerLevel);
        // SD 2.x (not inpainting) cannot be told apart from the shapes: A1111's run of the UNet decides.
        Assert.Equal(family == "sd2" ? "undecided" : "default", checkpoint.PredictionSource);
        if (family == "sdxl") Assert.Equal(new[] { 0, 2, 10 }, checkpoint.UnetConfig.TransformerDepth);
        if (family == "sdxl") Assert.Equal(2816, checkpoint.UnetConfig.AdmInChannels);
        if (family == "refiner") Assert.Equal(2560, checkpoint.UnetConfig.AdmInChannels);
        AssertNetworks(checkpoint);
    }

    [Fact]
    public void AVPredKeyOrMetadataDecidesThePrediction()
    {
        using var keyed = Checkpoint.Read(new ShapeOnlyTensorFile("sdxl", ["v_pred"]));
        Assert.Equal(PredictionType.V, keyed.Prediction);
        Assert.Equal("v_pred key", keyed.PredictionSource);
        using var chosen = Checkpoint.Read(new ShapeOnlyTensorFile("sd2"), new CheckpointOptions { Prediction = PredictionType.Epsilon });
        Assert.Equal(PredictionType.Epsilon, chosen.Prediction);
        Assert.Equal("option", chosen.PredictionSource);
    }

    [Fact]
    public void FilesThatAreNotCheckpointsSayWhatTheyLookLike()
    {
        string dir = TestPaths.NewTempDirectory();
        string lora = Path.Combine(dir, "model.safetensors");
        SafetensorsWriter.Write(lora, [("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", ElementType.F16, [4, 320], new byte[4 * 320 * 2])]);
        var error = Assert.Throws<ModelFormatException>(() => Checkpoint.Open(lora));
        Assert.Contains("looks like a LoRA", error.Message);
        string vae = Path.Combine(dir, "vae.safetensors");
        SafetensorsWriter.Write(vae, [("encoder.down.0.block.0.conv1.weight", ElementType.F16, [1], new byte[2])]);
        Assert.Contains("looks like a VAE", Assert.Throws<ModelFormatException>(() => Checkpoint.Open(vae)).Message);
    }
}
