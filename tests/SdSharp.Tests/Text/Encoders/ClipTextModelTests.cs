using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Tensors;
using SdSharp.Tests.Tensors;
using SdSharp.Text.Encoders;
using Xunit.Abstractions;

namespace SdSharp.Tests.Text.Encoders;

/// <summary>Every text encoder of every family fixture, from both file layouts, against transformers' outputs.</summary>
public sealed class ClipTextModelTests(ITestOutputHelper log) : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly CpuBackend _cpu = new(threads: 2);

    public void Dispose() => _cpu.Dispose();

    public static TheoryData<int, bool> Cases()
    {
        var data = new TheoryData<int, bool>();
        for (int i = 0; i < ClipFixture.All.Length; i++)
        {
            data.Add(i, true);
            data.Add(i, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_output_matches_transformers(int fixture, bool singleFile)
    {
        ClipFixture f = ClipFixture.All[fixture];
        using var reference = SafetensorsFile.Open(TestPaths.Fixture("models", f.Family, "reference.safetensors"));
        int[] ids = Ids(reference, f);
        TensorEntry hidden = reference.Find($"{f.Component}_hidden_states")!;
        int layers = (int)hidden.Shape[0] - 1, width = (int)hidden.Shape[3];
        float[] expectedHidden = hidden.ToFloat32();

        // SD 2's single file holds a third block diffusers drops; build only the layers SD 2 uses.
        using var clip = singleFile ? LoadedClip.Single(_cpu, f, layers) : LoadedClip.Diffusers(_cpu, f);
        Assert.Equal(layers, clip.Model.Config.Layers);
        using var output = clip.Model.Encode(ids, batch: 2, keep: [.. Enumerable.Range(0, layers + 1)]);

        double worst = 0;
        int per = 2 * 77 * width;
        for (int i = 0; i <= layers; i++)
            worst = Math.Max(worst, Check(expectedHidden.AsSpan(i * per, per).ToArray(), output.Hidden(i), $"hidden_states[{i}]"));
        using (var last = output.FinalLayerNorm(layers))
            worst = Math.Max(worst, Check(reference.Find($"{f.Component}_last")!.ToFloat32(), last, "last_hidden_state"));
        if (reference.Find($"{f.Component}_text_embeds") is TensorEntry embeds)
        {
            using var projected = output.Projected();
            worst = Math.Max(worst, Check(embeds.ToFloat32(), projected, "text_embeds"));
        }
        else
        {
            using var pooled = output.Pooled();
            worst = Math.Max(worst, Check(reference.Find($"{f.Component}_pooled")!.ToFloat32(), pooled, "pooler_output"));
        }
        log.WriteLine($"{f} {(singleFile ? "single file" : "diffusers")}: max abs error {worst:E2}");
    }

    [Fact]
    public void Sd2_single_file_runs_only_the_blocks_it_is_asked_for()
    {
        // The file has 3 blocks; transformers' reference has the 2 SD 2 uses (the third is random in the fixture).
        using var reference = SafetensorsFile.Open(TestPaths.Fixture("models", "sd2", "reference.safetensors"));
        using var clip = LoadedClip.Single(_cpu, ClipFixture.Sd2);
        Assert.Equal(3, clip.Model.Config.Layers);
        using var output = clip.Model.Encode(Ids(reference, ClipFixture.Sd2), batch: 2, layerCount: 2);
        Assert.Equal(2, output.Layers);
        using var last = output.FinalLayerNorm(2);
        Check(reference.Find("text_encoder_last")!.ToFloat32(), last, "penultimate + final LN");
        Assert.Throws<InvalidOperationException>(() => output.Hidden(1));   // not kept
        Assert.Throws<InvalidOperationException>(() => output.Pooled());    // needs every layer
    }

    [Fact]
    public void Configs_from_json_and_from_weights_agree()
    {
        foreach (ClipFixture f in ClipFixture.All)
        {
            using var single = LoadedClip.Single(_cpu, f);
            using var diffusers = LoadedClip.Diffusers(_cpu, f);
            ClipTextConfig a = single.Model.Config, b = diffusers.Model.Config;
            Assert.Equal((b.HiddenSize, b.Heads, b.IntermediateSize, b.Activation, b.MaxPositions, b.VocabSize, b.BosTokenId, b.EosTokenId),
                (a.HiddenSize, a.Heads, a.IntermediateSize, a.Activation, a.MaxPositions, a.VocabSize, a.BosTokenId, a.EosTokenId));
            Assert.Equal(f.OpenClip ? Activation.Gelu : Activation.QuickGelu, a.Activation);
            // Pooling differs in rule (argmax vs first EOS) but not in place: EOS is the vocabulary's largest id.
            Assert.Equal(ClipPooling.ArgmaxId, a.Pooling);
            Assert.Equal(ClipPooling.FirstEos, b.Pooling);
            Assert.Equal(f.Family == "sd2" ? 3 : b.Layers, a.Layers);
            Assert.Equal(f.Component == "text_encoder_2", diffusers.Model.HasProjection);
        }
    }

    [Fact]
    public void Real_sizes_get_heads_of_64_channels_and_reject_odd_widths_without_a_count()
    {
        using var listing = new SdSharp.Tests.Models.ShapeOnlyTensorFile("sdxl");
        using var map = SdSharp.Models.Weights.WeightMap.Build(listing, new SdSharp.Models.Weights.OpenClipLayout("bigG", "conditioner.embedders.1.model."));
        ClipTextConfig g = ClipTextConfig.FromWeights(map, ClipTextFlavor.OpenClip);
        Assert.Equal((1280, 32, 20, 5120, 1280, 49406, 49407), (g.HiddenSize, g.Layers, g.Heads, g.IntermediateSize, g.ProjectionDim ?? 0, g.BosTokenId, g.EosTokenId));

        using var tiny = ModelFiles.Open(TestPaths.Fixture("models", "sd1", "single.safetensors"));
        using var tinyMap = SdSharp.Models.Weights.WeightMap.Build(tiny, new SdSharp.Models.Weights.HfClipLayout("clip", "cond_stage_model.transformer."));
        var e = Assert.Throws<ModelFormatException>(() => ClipTextConfig.FromWeights(tinyMap, ClipTextFlavor.OpenAi));
        Assert.Contains("head", e.Message);
    }

    [Fact]
    public void Pooling_rules_follow_transformers()
    {
        // A legacy config (eos_token_id 2, as every published SD config) pools at the largest id; others at the first EOS.
        var legacy = ClipTextConfig.FromJson(JsonConfig.Parse("legacy.json", """{"eos_token_id": 2, "hidden_act": "quick_gelu"}"""u8));
        var fixedEos = ClipTextConfig.FromJson(JsonConfig.Parse("fixed.json", """{"eos_token_id": 49407, "hidden_act": "gelu"}"""u8));
        Assert.Equal(ClipPooling.ArgmaxId, legacy.Pooling);
        Assert.Equal((ClipPooling.FirstEos, Activation.Gelu), (fixedEos.Pooling, fixedEos.Activation));
        Assert.Throws<ModelFormatException>(() => ClipTextConfig.FromJson(JsonConfig.Parse("bad.json", """{"hidden_act": "relu"}"""u8)));
    }

    internal static int[] Ids(SafetensorsFile reference, ClipFixture f) =>
        [.. reference.Find($"{f.Component}_ids")!.ToFloat32().Select(v => (int)v)];

    private static double Check(float[] expected, Tensor actual, string what)
    {
        float[] got = actual.ToArray();
        Reference.AssertClose(expected, got, Tolerance, what);
        return expected.Zip(got, (e, g) => (double)Math.Abs(e - g)).Max();
    }
}
