using System.Text;
using SdSharp.IO;
using SdSharp.Models.Vae;
using SdSharp.Models.Weights;

namespace SdSharp.Tests.Models.Vae;

public sealed class VaeConfigTests
{
    public static TheoryData<string> Families() => new(ModelFixtures.Families);

    /// <summary>The real files: every family's full-size VAE has SD's shapes.</summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void FullSizeStructureIsDetectedFromTheShapes(string family)
    {
        using var file = new ShapeOnlyTensorFile(family);
        using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        var config = VaeConfig.FromWeights(map);
        Assert.Equal([128, 256, 512, 512], config.LevelChannels);
        Assert.Equal(2, config.ResBlocksPerLevel);
        Assert.Equal(4, config.LatentChannels);
        Assert.Equal(3, config.InChannels);
        Assert.Equal(3, config.OutChannels);
        Assert.Equal(32, config.NormGroups);
        Assert.Equal(8, config.DownscaleFactor);
        Assert.True(config.MidAttention && config.QuantConv && config.PostQuantConv);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void WeightsAndDiffusersConfigDescribeTheSameTinyVae(string family)
    {
        using var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        var expected = VaeConfig.FromDiffusers(folder.Component("vae").Config);
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile(family));
        using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        var detected = VaeConfig.FromWeights(map, expected.ScalingFactor, expected.NormGroups);
        Assert.Equal(expected.LevelChannels, detected.LevelChannels);
        // The training size is not in the weights: single files get diffusers' default for the family.
        Assert.Equal(expected.ScalingFactor == VaeConfig.SdxlScalingFactor ? 1024 : 512, detected.SampleSize);
        Assert.Equal(expected with { LevelChannels = detected.LevelChannels, SampleSize = detected.SampleSize }, detected);
    }

    /// <summary>Both layouts map onto the same canonical names and the same bytes; only q/k/v/proj_out differ in shape
    /// ([C, C, 1, 1] as stored by the original, [C, C] by diffusers).</summary>
    [Theory]
    [MemberData(nameof(Families))]
    public void BothLayoutsGiveTheSameCanonicalWeights(string family)
    {
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile(family));
        using var single = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        using var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        int levels = folder.Component("vae").Config.GetIntArray("block_out_channels").Length;
        using var diffusers = WeightMap.Build(folder, new DiffusersVaeLayout("vae.", levels));
        Assert.Empty(single.Unclaimed);
        Assert.Empty(diffusers.Unclaimed);
        Assert.Equal(single.Names.Order(StringComparer.Ordinal), diffusers.Names.Order(StringComparer.Ordinal));
        foreach (string name in single.Names)
        {
            long[] a = single.ShapeOf(name)!, b = diffusers.ShapeOf(name)!;
            Assert.True(a.SequenceEqual(b) || (a.Length == 4 && a[2] == 1 && a[3] == 1 && a[..2].SequenceEqual(b)), $"{name}: [{string.Join(", ", a)}] vs [{string.Join(", ", b)}]");
            Assert.True(single.Get(name).Bytes.SequenceEqual(diffusers.Get(name).Bytes), name);
        }
    }

    [Fact]
    public void DiffusersConfigsOfTheRealVaes()
    {
        // SD 1.5's VAE config (diffusers 0.6): no scaling_factor, no force_upcast; the defaults are SD's.
        var sd = VaeConfig.FromDiffusers(Json("""
            {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
             "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
             "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3,
             "sample_size": 512,
             "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}
            """));
        Assert.Equal(VaeConfig.SdScalingFactor, sd.ScalingFactor);
        Assert.Equal(0f, sd.ShiftFactor);
        Assert.False(sd.RequiresFullRange);
        Assert.Equal(2, sd.ResBlocksPerLevel);

        string sdxl = """{"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "scaling_factor": 0.13025, "force_upcast": FORCE}""";
        Assert.True(VaeConfig.FromDiffusers(Json(sdxl.Replace("FORCE", "true"))).RequiresFullRange);
        // madebyollin's sdxl-vae-fp16-fix
        Assert.False(VaeConfig.FromDiffusers(Json(sdxl.Replace("FORCE", "false"))).RequiresFullRange);
        // Single files: the family decides.
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile("sdxl"));
        using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        Assert.True(VaeConfig.FromWeights(map, VaeConfig.SdxlScalingFactor, 4).RequiresFullRange);
        Assert.False(VaeConfig.FromWeights(map, VaeConfig.SdScalingFactor, 4).RequiresFullRange);
    }

    [Theory]
    [InlineData("""{"block_out_channels": [8], "act_fn": "gelu"}""", "act_fn gelu")]
    [InlineData("""{"block_out_channels": [8, 8], "down_block_types": ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"]}""", "down_block_types")]
    [InlineData("""{"block_out_channels": [8], "latents_mean": [0.1, 0.2, 0.3, 0.4]}""", "latents_mean")]
    [InlineData("""{"_class_name": "AutoencoderTiny", "block_out_channels": [8]}""", "AutoencoderTiny")]
    public void UnsupportedDiffusersConfigsAreRefusedByName(string json, string named)
    {
        var error = Assert.Throws<ModelFormatException>(() => VaeConfig.FromDiffusers(Json(json)));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void DetectionNamesAMissingStructuralWeight()
    {
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile("sd1"));
        using var map = WeightMap.Build(file, new DroppingLayout("first_stage_model.", "first_stage_model.decoder.conv_in.weight"));
        var error = Assert.Throws<ModelFormatException>(() => VaeConfig.FromWeights(map));
        Assert.Contains("decoder.conv_in.weight is missing", error.Message);
    }

    private static JsonConfig Json(string text) => JsonConfig.Parse("config.json", Encoding.UTF8.GetBytes(text));

    /// <summary>The original layout without one key.</summary>
    private sealed class DroppingLayout(string prefix, string dropped) : IWeightLayout
    {
        private readonly PrefixLayout _inner = new("vae (original layout)", prefix);
        public string Describe => _inner.Describe;
        public bool Owns(string storedName) => storedName != dropped && _inner.Owns(storedName);
        public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry) => _inner.Map(entry);
    }
}
