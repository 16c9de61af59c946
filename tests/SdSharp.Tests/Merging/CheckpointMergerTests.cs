using System.Runtime.InteropServices;
using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.Generation.Infotext;
using SdSharp.IO;
using SdSharp.Merging;
using SdSharp.Tests.Addons;
using SdSharp.Tests.Cli;
using SdSharp.Tests.IO;
using SdSharp.Tests.Models;
using Conversions = SdSharp.Tensors.NumericConversions;

namespace SdSharp.Tests.Merging;

public sealed class CheckpointMergerTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();
    private static readonly ModelHashes NoCache = new(cacheFile: null);

    // ---- small SD 1.x-shaped checkpoints (enough keys for the family to be detected) ----

    private const string ConvIn = "model.diffusion_model.input_blocks.0.0.weight";
    private const string OutBias = "model.diffusion_model.out.2.bias";
    /// <summary>Larger than the merger's 2^20-element slice, so it is combined in several pieces.</summary>
    private const string Big = "model.diffusion_model.middle_block.1.proj_in.weight";
    private const string TextNorm = "cond_stage_model.transformer.text_model.final_layer_norm.weight";
    private const string PositionIds = "cond_stage_model.transformer.text_model.embeddings.position_ids";
    private const string VaeConv = "first_stage_model.decoder.conv_in.weight";
    private const string VaeAttention = "first_stage_model.decoder.mid.attn_1.q.weight";
    private const string Alphas = "alphas_cumprod";
    private const int BigCount = (1 << 20) + 77;

    private sealed record Weight(string Name, ElementType Type, long[] Shape, float[] Values);

    /// <summary>Random values per checkpoint (seeded), fixed shapes; <paramref name="channels"/> input channels of conv_in.</summary>
    private static List<Weight> Sd1(int seed, ElementType type, int channels = 4)
    {
        var random = new Random(seed);
        Weight W(string name, params long[] shape)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            return new Weight(name, type, shape, [.. Enumerable.Range(0, (int)n).Select(_ => (float)(random.NextDouble() * 2 - 1))]);
        }
        return
        [
            W(ConvIn, 8, channels, 3, 3), W(OutBias, 4), W(Big, BigCount), W(TextNorm, 16),
            new Weight(PositionIds, ElementType.I64, [1, 5], [0, 1, 2, 3, 4]),
            W(VaeConv, 8, 4, 3, 3), W(VaeAttention, 4, 4, 1, 1), W(Alphas, 10),
        ];
    }

    private string Save(string name, IEnumerable<Weight> tensors, Dictionary<string, string>? metadata = null)
    {
        string path = Path.Combine(_dir, name);
        SafetensorsWriter.Write(path, tensors.Select(t => (t.Name, t.Type, t.Shape, (ReadOnlyMemory<byte>)Encode(t))), metadata);
        return path;
    }

    private static byte[] Encode(Weight t) => t.Type switch
    {
        ElementType.F32 => MemoryMarshal.AsBytes(t.Values.AsSpan()).ToArray(),
        ElementType.F16 => MemoryMarshal.AsBytes(t.Values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
        ElementType.BF16 => MemoryMarshal.AsBytes(t.Values.Select(Conversions.SingleToBFloat16).ToArray().AsSpan()).ToArray(),
        ElementType.I64 => MemoryMarshal.AsBytes(t.Values.Select(v => (long)v).ToArray().AsSpan()).ToArray(),
        _ => throw new ArgumentException(t.Type.ToString()),
    };

    /// <summary>The values as stored (fp16 inputs hold rounded values).</summary>
    private static float[] Stored(Weight t) => t.Type switch
    {
        ElementType.F16 => [.. t.Values.Select(v => (float)(Half)v)],
        ElementType.BF16 => [.. t.Values.Select(v => Conversions.BFloat16ToSingle(Conversions.SingleToBFloat16(v)))],
        _ => t.Values,
    };

    private static Dictionary<string, float[]> ByName(List<Weight> tensors) => tensors.ToDictionary(t => t.Name, Stored);

    private MergeResult Merge(string a, string b, string? c, string output, MergeOptions? options = null) =>
        CheckpointMerger.Merge(a, b, c, output, (options ?? new MergeOptions()) with { Hashes = NoCache });

    private static float[] Values(SafetensorsFile file, string name) => file.Find(name)!.ToFloat32();

    // ---- the two methods against a direct computation ----

    [Fact]
    public void WeightedSumIsAOneMinusMPlusBM()
    {
        var ta = Sd1(1, ElementType.F16);
        var tb = Sd1(2, ElementType.F16);
        tb.Add(new Weight("model.diffusion_model.only_in_b", ElementType.F16, [2], [1, 2]));
        ta.Add(new Weight("model.diffusion_model.only_in_a", ElementType.F16, [2], [3, 4]));
        string output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(Save("a.safetensors", ta), Save("b.safetensors", tb), null, output, new MergeOptions { Multiplier = 0.3 });

        using var merged = SafetensorsFile.Open(output);
        var a = ByName(ta);
        var b = ByName(tb);
        float wa = (float)(1 - 0.3), wb = 0.3f;
        foreach (string name in new[] { ConvIn, OutBias, Big, TextNorm, VaeConv })
        {
            float[] expected = [.. a[name].Zip(b[name], (x, y) => (float)(Half)(wa * x + wb * y))];
            Assert.Equal(ElementType.F16, merged.Find(name)!.Type); // fp16 with fp16 stays fp16, as in torch
            Assert.Equal(expected, Values(merged, name));
        }
        // Not merged: keys without "model" (A1111's rule), integer tensors, keys B lacks; B's extra keys are left out.
        Assert.Equal(a[Alphas], Values(merged, Alphas));
        Assert.Equal(a["model.diffusion_model.only_in_a"], Values(merged, "model.diffusion_model.only_in_a"));
        Assert.Equal(ElementType.I64, merged.Find(PositionIds)!.Type);
        Assert.Null(merged.Find("model.diffusion_model.only_in_b"));
        Assert.Equal((6, 3, 1), (result.Merged, result.KeptFromA, result.OnlyInB));
        Assert.Equal(ta.Count, merged.Tensors.Count);
    }

    [Fact]
    public void AddDifferenceIsAPlusBMinusCTimesMInTorchsTypes()
    {
        var ta = Sd1(1, ElementType.F32);
        var tb = Sd1(2, ElementType.F16);
        var tc = Sd1(3, ElementType.F16).Where(t => t.Name != OutBias).ToList();
        string output = Path.Combine(_dir, "out.safetensors");
        Merge(Save("a.safetensors", ta), Save("b.safetensors", tb), Save("c.safetensors", tc), output,
            new MergeOptions { Mode = MergeMode.AddDifference, Multiplier = 0.75 });

        using var merged = SafetensorsFile.Open(output);
        var (a, b, c) = (ByName(ta), ByName(tb), ByName(tc));
        foreach (string name in new[] { ConvIn, Big, TextNorm, VaeConv })
        {
            float[] expected = [.. a[name].Select((x, i) => x + 0.75f * (b[name][i] - c[name][i]))];
            Assert.Equal(ElementType.F32, merged.Find(name)!.Type); // fp32 with fp16 is fp32
            Assert.Equal(expected, Values(merged, name));
        }
        // A key C lacks: A1111 takes the difference as zero.
        Assert.Equal(a[OutBias], Values(merged, OutBias));
    }

    [Fact]
    public void AnInpaintingAMergesOnlyItsFirstFourInputChannels()
    {
        var ta = Sd1(1, ElementType.F32, channels: 9);
        var tb = Sd1(2, ElementType.F32);
        string a = Save("a.safetensors", ta), b = Save("b.safetensors", tb), output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(a, b, null, output, new MergeOptions { Multiplier = 0.4 });

        using var merged = SafetensorsFile.Open(output);
        Assert.True(result.Inpainting);
        Assert.Equal(new long[] { 8, 9, 3, 3 }, merged.Find(ConvIn)!.Shape);
        float[] got = Values(merged, ConvIn), va = ByName(ta)[ConvIn], vb = ByName(tb)[ConvIn];
        float wa = (float)(1 - 0.4), wb = 0.4f;
        for (int o = 0; o < 8; o++)
            for (int ch = 0; ch < 9; ch++)
                for (int k = 0; k < 9; k++)
                {
                    int i = (o * 9 + ch) * 9 + k;
                    float expected = ch < 4 ? wa * va[i] + wb * vb[(o * 4 + ch) * 9 + k] : va[i];
                    Assert.Equal(expected, got[i]);
                }
        using var recipe = JsonDocument.Parse(result.Metadata["sd_merge_recipe"]);
        Assert.True(recipe.RootElement.GetProperty("is_inpainting").GetBoolean());

        var e = Assert.Throws<InvalidInputException>(() => Merge(b, a, null, Path.Combine(_dir, "reversed.safetensors")));
        Assert.Contains("A must be the inpainting model", e.Message);
    }

    [Fact]
    public void BakeVaeReplacesTheVaeWeightsInTheVaesType()
    {
        var ta = Sd1(1, ElementType.F16);
        var random = new Random(5);
        float[] conv = [.. Enumerable.Range(0, 8 * 4 * 9).Select(_ => (float)random.NextDouble())];
        // A standalone VAE in the original layout, with the training leftovers A1111 ignores.
        string vae = Save("vae.safetensors",
        [
            new Weight("decoder.conv_in.weight", ElementType.F32, [8, 4, 3, 3], conv),
            new Weight("loss.logvar", ElementType.F32, [1], [9]),
            new Weight("model_ema.decay", ElementType.F32, [], [0.5f]),
        ]);
        string output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(Save("a.safetensors", ta), Save("b.safetensors", Sd1(2, ElementType.F16)), null, output, new MergeOptions { BakeVae = vae });

        using var merged = SafetensorsFile.Open(output);
        Assert.Equal(1, result.BakedVae);
        Assert.Equal(ElementType.F32, merged.Find(VaeConv)!.Type);
        Assert.Equal(conv, Values(merged, VaeConv));
        Assert.Null(merged.Find("first_stage_model.loss.logvar"));
        using var recipe = JsonDocument.Parse(result.Metadata["sd_merge_recipe"]);
        Assert.Equal("vae.safetensors", recipe.RootElement.GetProperty("bake_in_vae").GetString());

        // A diffusers-layout VAE: its [4, 4] linear attention weight fills A's [4, 4, 1, 1] convolution.
        float[] q = [.. Enumerable.Range(0, 16).Select(i => i * 0.25f)];
        string diffusersVae = Save("diffusers-vae.safetensors",
            [new Weight("decoder.mid_block.attentions.0.to_q.weight", ElementType.F16, [4, 4], q), new Weight("decoder.up_blocks.0.resnets.0.conv1.bias", ElementType.F16, [2], [1, 2])]);
        string second = Path.Combine(_dir, "second.safetensors");
        Merge(Save("a2.safetensors", ta), Save("b2.safetensors", Sd1(2, ElementType.F16)), null, second, new MergeOptions { BakeVae = diffusersVae });
        using var baked = SafetensorsFile.Open(second);
        Assert.Equal(new long[] { 4, 4, 1, 1 }, baked.Find(VaeAttention)!.Shape);
        Assert.Equal(q, Values(baked, VaeAttention));

        string lora = Save("not-a-vae.safetensors", [new Weight("decoder.something_else", ElementType.F32, [1], [1])]);
        var e = Assert.Throws<InvalidInputException>(() =>
            Merge(Save("a3.safetensors", ta), Save("b3.safetensors", Sd1(2, ElementType.F16)), null, Path.Combine(_dir, "x.safetensors"), new MergeOptions { BakeVae = lora }));
        Assert.Contains("none of its weights", e.Message);
    }

    [Theory]
    [InlineData("fp16", ElementType.F16)]
    [InlineData("bf16", ElementType.BF16)]
    [InlineData("fp32", ElementType.F32)]
    public void PrecisionConvertsEveryFloatTensorAndNoInteger(string name, ElementType type)
    {
        _ = name;
        var ta = Sd1(1, ElementType.F32);
        var tb = Sd1(2, ElementType.F16);
        string output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(Save("a.safetensors", ta), Save("b.safetensors", tb), null, output, new MergeOptions { Multiplier = 0.5, Precision = type });

        using var merged = SafetensorsFile.Open(output);
        foreach (TensorEntry entry in merged.Tensors)
            Assert.Equal(entry.Name == PositionIds ? ElementType.I64 : type, entry.Type);
        var (a, b) = (ByName(ta), ByName(tb));
        float[] expected = [.. a[TextNorm].Select((x, i) => 0.5f * x + 0.5f * b[TextNorm][i])];
        float[] rounded = type switch
        {
            ElementType.F16 => [.. expected.Select(v => (float)(Half)v)],
            ElementType.BF16 => [.. expected.Select(v => Conversions.BFloat16ToSingle(Conversions.SingleToBFloat16(v)))],
            _ => expected,
        };
        Assert.Equal(rounded, Values(merged, TextNorm));
        Assert.Equal([0f, 1, 2, 3, 4], Values(merged, PositionIds));
        using var recipe = JsonDocument.Parse(result.Metadata["sd_merge_recipe"]);
        Assert.Equal(type == ElementType.F16, recipe.RootElement.GetProperty("save_as_half").GetBoolean());
    }

    [Fact]
    public void DiscardWeightsLeavesOutMatchingKeys()
    {
        string output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(Save("a.safetensors", Sd1(1, ElementType.F16)), Save("b.safetensors", Sd1(2, ElementType.F16)), null, output,
            new MergeOptions { DiscardWeights = "first_stage|alphas" });
        using var merged = SafetensorsFile.Open(output);
        Assert.DoesNotContain(merged.Tensors, t => t.Name.Contains("first_stage") || t.Name == Alphas);
        Assert.Equal(3, result.Discarded);
        CliRunner.AssertUserError(CliRunner.Run("merge", Save("c.safetensors", Sd1(1, ElementType.F16)), Save("d.safetensors", Sd1(1, ElementType.F16)),
            "--discard-weights", "(", "-o", Path.Combine(_dir, "y.safetensors")), "--discard-weights");
    }

    // ---- refusals ----

    [Fact]
    public void DifferentFamiliesAreRefusedInOneLine()
    {
        string output = Path.Combine(_dir, "out.safetensors");
        string line = CliRunner.AssertUserError(CliRunner.Run("merge", ModelFixtures.SingleFile("sd1"), ModelFixtures.SingleFile("sdxl"), "-o", output), "different architectures");
        Assert.Contains("SD 1.x", line);
        Assert.Contains("SDXL", line);
        CliRunner.AssertUserError(CliRunner.Run("merge", ModelFixtures.SingleFile("sd1"), ModelFixtures.DiffusersFolder("sd1"), "-o", output), "diffusers");
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void DifferentShapesAreRefusedNamingTheFirstKeys()
    {
        var tb = Sd1(2, ElementType.F16).Select(t => t.Name is OutBias or TextNorm ? t with { Shape = [2, t.Shape[0] / 2] } : t).ToList();
        string output = Path.Combine(_dir, "out.safetensors");
        var e = Assert.Throws<InvalidInputException>(() => Merge(Save("a.safetensors", Sd1(1, ElementType.F16)), Save("b.safetensors", tb), null, output));
        Assert.Contains("2 tensors differ in shape", e.Message);
        Assert.Contains($"{OutBias} A [4] vs B [2, 2]", e.Message);
        Assert.Contains(TextNorm, e.Message);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void ModeAndModelCountMustAgree()
    {
        string a = Save("a.safetensors", Sd1(1, ElementType.F16)), b = Save("b.safetensors", Sd1(2, ElementType.F16));
        string output = Path.Combine(_dir, "out.safetensors");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, "--mode", "add-difference", "-o", output), "third model");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, a, "-o", output), "only for add-difference");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, "--mode", "average", "-o", output), "--mode average");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, "--precision", "fp8", "-o", output), "--precision fp8");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, "-o", Path.Combine(_dir, "out.ckpt")), ".safetensors");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, Save("lora.safetensors", [new Weight("lora_unet_x.lora_down.weight", ElementType.F16, [1], [1])]), "-o", output), "LoRA");
        Assert.False(File.Exists(output));
    }

    // ---- the output file ----

    [Fact]
    public void AFailedMergeLeavesNoFileAndTheOldOneIntact()
    {
        string a = Save("a.safetensors", Sd1(1, ElementType.F16)), b = Save("b.safetensors", Sd1(2, ElementType.F16));
        string output = Path.Combine(_dir, "out.safetensors");
        File.WriteAllText(output, "old");
        CliRunner.AssertUserError(CliRunner.Run("merge", a, b, "-o", output), "already exists");
        // Stopped half way (here: cancelled once the output is open), even with --overwrite.
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() =>
            CheckpointMerger.Merge(a, b, null, output, new MergeOptions { Overwrite = true, Hashes = NoCache }, cancel.Token));
        Assert.Equal("old", File.ReadAllText(output));
        Assert.Equal(["a.safetensors", "b.safetensors", "out.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
        Merge(a, b, null, output, new MergeOptions { Overwrite = true });
        using var merged = SafetensorsFile.Open(output);
        Assert.Equal(8, merged.Tensors.Count);
    }

    [Fact]
    public void MetadataCarriesTheInputsAndTheRecipeAsA1111Writes()
    {
        var earlier = """{"abc": {"name": "older.safetensors", "legacy_hash": "12345678", "sd_merge_recipe": null}}""";
        string a = Save("a.safetensors", Sd1(1, ElementType.F16), new() { ["note"] = "from a", ["shared"] = "a" });
        string b = Save("b.safetensors", Sd1(2, ElementType.F16), new() { ["shared"] = "b", ["sd_merge_models"] = earlier, ["sd_merge_recipe"] = """{"type": "webui"}""" });
        string output = Path.Combine(_dir, "merged.safetensors");
        Merge(a, b, null, output, new MergeOptions { Multiplier = 0.25 });

        using var merged = SafetensorsFile.Open(output);
        var meta = merged.Metadata;
        Assert.Equal(("from a", "b", "pt"), (meta["note"], meta["shared"], meta["format"]));
        using var recipe = JsonDocument.Parse(meta["sd_merge_recipe"]);
        var r = recipe.RootElement;
        Assert.Equal("webui", r.GetProperty("type").GetString());
        Assert.Equal(NoCache.Sha256(a), r.GetProperty("primary_model_hash").GetString());
        Assert.Equal(NoCache.Sha256(b), r.GetProperty("secondary_model_hash").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("tertiary_model_hash").ValueKind);
        Assert.Equal("Weighted sum", r.GetProperty("interp_method").GetString());
        Assert.Equal(0.25, r.GetProperty("multiplier").GetDouble());
        Assert.Equal("merged", r.GetProperty("custom_name").GetString());
        Assert.Equal("None", r.GetProperty("bake_in_vae").GetString());
        using var models = JsonDocument.Parse(meta["sd_merge_models"]);
        var m = models.RootElement;
        Assert.Equal(new HashSet<string> { "abc", NoCache.Sha256(a), NoCache.Sha256(b) }, m.EnumerateObject().Select(p => p.Name).ToHashSet());
        Assert.Equal("a.safetensors", m.GetProperty(NoCache.Sha256(a)).GetProperty("name").GetString());
        Assert.Equal(ModelHashes.LegacyHash(b), m.GetProperty(NoCache.Sha256(b)).GetProperty("legacy_hash").GetString());
        Assert.Equal("webui", m.GetProperty(NoCache.Sha256(b)).GetProperty("sd_merge_recipe").GetProperty("type").GetString());
    }

    [Fact]
    public void ACkptWithOldTextEncoderNamesMergesKeyToKey()
    {
        // A torch zip checkpoint whose CLIP keys lack "text_model." (older transformers), as A1111 renames them.
        float[] unet = [1, 2, 3, 4], norm = [.. Enumerable.Range(0, 16).Select(i => (float)i)];
        var p = new PickleBuilder();
        p.Proto(2).EmptyDict().Mark().Str("state_dict").EmptyDict().Mark();
        p.Str(OutBias).Tensor("FloatStorage", "0", 4);
        p.Str("cond_stage_model.transformer.final_layer_norm.weight").Tensor("FloatStorage", "1", 16);
        p.SetItems().SetItems().Stop();
        var entries = new List<(string, byte[])>
        {
            ("archive/data.pkl", p.ToArray()), ("archive/byteorder", "little"u8.ToArray()),
            ("archive/data/0", TestCheckpoints.Bytes(unet)), ("archive/data/1", TestCheckpoints.Bytes(norm)), ("archive/version", "3\n"u8.ToArray()),
        };
        string ckpt = TestCheckpoints.Write(_dir, "old.ckpt", ZipBuilder.Stored(entries));
        var tb = Sd1(2, ElementType.F32);
        string output = Path.Combine(_dir, "out.safetensors");
        var result = Merge(ckpt, Save("b.safetensors", tb), null, output, new MergeOptions { Multiplier = 0.5 });

        using var merged = SafetensorsFile.Open(output);
        Assert.Equal(new HashSet<string> { OutBias, TextNorm }, merged.Tensors.Select(t => t.Name).ToHashSet());
        var b = ByName(tb);
        Assert.Equal(norm.Select((x, i) => 0.5f * x + 0.5f * b[TextNorm][i]), Values(merged, TextNorm));
        Assert.Equal(unet.Select((x, i) => 0.5f * x + 0.5f * b[OutBias][i]), Values(merged, OutBias));
        Assert.Equal(2, result.Merged);
    }

    /// <summary>
    /// The merged tiny SD 1.x model loads, and its UNet and text encoder compute exactly what the same model
    /// computes from a file of directly computed weights.
    /// </summary>
    [Fact]
    public void TheMergedTinyModelComputesWhatDirectlyMergedWeightsCompute()
    {
        string a = ModelFixtures.SingleFile("sd1");
        using var source = SafetensorsFile.Open(a);
        // B: the fixture's weights scaled by 1.25 and shifted, as fp32.
        var b = source.Tensors.Select(t => t.Type.IsFloat()
            ? new Weight(t.Name, ElementType.F32, t.Shape, [.. t.ToFloat32().Select((v, i) => v * 1.25f + (i % 7) * 1e-3f)])
            : new Weight(t.Name, t.Type, t.Shape, t.ToFloat32())).ToList();
        string bPath = Save("b.safetensors", b);
        string output = Path.Combine(_dir, "merged.safetensors");
        var (exit, stdout, error) = CliRunner.Run("merge", a, bPath, "--multiplier", "0.35", "-o", output);
        Assert.True(exit == 0, error);
        Assert.Equal(output, stdout.Trim());

        float wa = (float)(1 - 0.35), wb = 0.35f;
        var bByName = b.ToDictionary(t => t.Name);
        var direct = source.Tensors.Select(t => t.Type.IsFloat() && t.Name.Contains("model")
            ? new Weight(t.Name, ElementType.F32, t.Shape, [.. t.ToFloat32().Select((v, i) => wa * v + wb * bByName[t.Name].Values[i])])
            : new Weight(t.Name, t.Type, t.Shape, t.ToFloat32())).ToList();
        string directPath = Save("direct.safetensors", direct);

        using var cpu = new CpuBackend();
        using var fromMerge = AddonFixtures.Load(cpu, output, "sd1");
        using var fromDirect = AddonFixtures.Load(cpu, directPath, "sd1");
        using var original = AddonFixtures.Load(cpu, a, "sd1");
        float[] unet = AddonFixtures.UnetOutput(fromMerge);
        Assert.Equal(AddonFixtures.UnetOutput(fromDirect), unet);
        Assert.Equal(AddonFixtures.TextOutput(fromDirect), AddonFixtures.TextOutput(fromMerge));
        Assert.NotEqual(AddonFixtures.UnetOutput(original), unet);
    }
}
