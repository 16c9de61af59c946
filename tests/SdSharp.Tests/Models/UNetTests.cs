using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Models.Unet;
using SdSharp.Models.Weights;
using SdSharp.Tests.Tensors;

namespace SdSharp.Tests.Models;

public sealed class UNetTests : IDisposable
{
    private readonly CpuBackend _cpu = new(threads: 2);

    public void Dispose() => _cpu.Dispose();

    [Theory]
    [MemberData(nameof(ModelFixtures.FamiliesAndLayouts), MemberType = typeof(ModelFixtures))]
    public void OutputMatchesDiffusers(string family, bool singleFile)
    {
        using var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        var config = UNetConfig.FromDiffusers(folder.Component("unet").Config);
        using TensorFile file = singleFile ? SafetensorsFile.Open(ModelFixtures.SingleFile(family)) : DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        using var map = WeightMap.Build(file, singleFile ? OriginalLayout() : DiffusersLayout(config));
        using var unet = new UNetModel(_cpu, map, config);
        Assert.Empty(unet.UnusedWeights);

        using var reference = ModelFixtures.Reference(family);
        using var x = ModelFixtures.UploadNhwc(_cpu, reference, "unet_sample");
        using var t = ModelFixtures.Upload(_cpu, reference, "unet_timestep");
        using var context = ModelFixtures.Upload(_cpu, reference, "unet_context");
        using var textEmbeds = config.AdmInChannels == null ? null : ModelFixtures.Upload(_cpu, reference, "unet_text_embeds");
        using var timeIds = config.AdmInChannels == null ? null : ModelFixtures.Upload(_cpu, reference, "unet_time_ids");
        using var output = unet.Forward(x, t, context, textEmbeds, timeIds);

        var (expected, shape) = ModelFixtures.Read(reference, "unet_out");
        Reference.AssertClose(ModelFixtures.ToNhwc(expected, shape), output.ToArray(), 1e-4, $"{family} unet ({(singleFile ? "single file" : "diffusers")})");
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void StructureIsRecoveredFromTheWeights(string family)
    {
        using var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        var expected = UNetConfig.FromDiffusers(folder.Component("unet").Config);
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile(family));
        using var map = WeightMap.Build(file, OriginalLayout());
        var detected = UNetConfig.FromWeights(map, _ => 1, expected.NormGroups, expected.AddTimeEmbedDim);
        Assert.Equal(expected.InChannels, detected.InChannels);
        Assert.Equal(expected.OutChannels, detected.OutChannels);
        Assert.Equal(expected.LevelChannels, detected.LevelChannels);
        Assert.Equal(expected.ResBlocksPerLevel, detected.ResBlocksPerLevel);
        Assert.Equal(expected.TransformerDepth, detected.TransformerDepth);
        Assert.Equal(expected.MiddleTransformerDepth, detected.MiddleTransformerDepth);
        Assert.Equal(expected.ContextDim, detected.ContextDim);
        Assert.Equal(expected.LinearProjection, detected.LinearProjection);
        Assert.Equal(expected.AdmInChannels, detected.AdmInChannels);
    }

    public static TheoryData<string> FamilyNames() => new(ModelFixtures.Families);

    [Fact]
    public void MissingAndMisshapedWeightsAreListedByName()
    {
        using var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder("sd1"));
        var config = UNetConfig.FromDiffusers(folder.Component("unet").Config);
        // A narrower context than the weights have, and no weights at all under another prefix.
        using var file = SafetensorsFile.Open(ModelFixtures.SingleFile("sd1"));
        using var map = WeightMap.Build(file, OriginalLayout());
        var wrong = config with { ContextDim = config.ContextDim + 1 };
        var error = Assert.Throws<ModelFormatException>(() => new UNetModel(_cpu, map, wrong));
        Assert.Contains("attn2.to_k.weight is [", error.Message);
        Assert.Contains("more", error.Message);
        using var empty = WeightMap.Build(file, new PrefixLayout("unet (original layout)", "model.nothing."));
        var missing = Assert.Throws<ModelFormatException>(() => new UNetModel(_cpu, empty, config));
        Assert.Contains("time_embed.0.weight is missing", missing.Message);
    }

    private static PrefixLayout OriginalLayout() => new("unet (original layout)", "model.diffusion_model.");

    private static DiffusersUnetLayout DiffusersLayout(UNetConfig config) =>
        new("unet.", config.ResBlocksPerLevel, config.TransformerDepth.Reverse().Select(d => d > 0).ToArray());
}
