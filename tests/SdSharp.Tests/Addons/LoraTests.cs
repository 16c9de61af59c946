using SdSharp.Addons;
using SdSharp.Addons.Lora;
using SdSharp.Generation;
using static SdSharp.Tests.Addons.AddonFixtures;

namespace SdSharp.Tests.Addons;

/// <summary>
/// LoRA-family files applied to the tiny models give what the base model gives with the weights merged by
/// the documented formulas (the *.merged.safetensors fixtures), and leave the model as it was afterwards.
/// </summary>
public sealed class LoraTests
{
    private const double Tolerance = 1e-3;

    [Theory]
    [InlineData("sd1", "<lora:kohya_sd1:0.8>", "kohya_sd1.merged.safetensors")]
    [InlineData("sd1", "<lora:kohya_sd1:0.8> <lora:peft_sd1:-0.5>", "kohya_peft_sd1.merged.safetensors")]
    [InlineData("sd1", "<lora:loha_sd1>", "loha_sd1.merged.safetensors")]
    [InlineData("sd1", "<lora:lokr_sd1:0.6>", "lokr_sd1.merged.safetensors")]
    [InlineData("sdxl", "<lora:kohya_sdxl:1>", "kohya_sdxl.merged.safetensors")]
    public void TheModelWithALoraComputesWhatTheMergedCheckpointComputes(string family, string prompt, string merged)
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, family);
        using var reference = Load(cpu, File(merged), family);
        var warnings = new List<string>();
        float[] unet, text;
        using (model.Addons.Activate(Tags(prompt), warnings))
        {
            unet = UnetOutput(model);
            text = TextOutput(model);
        }
        Assert.True(RelativeL2(unet, UnetOutput(reference)) < Tolerance, $"UNet differs by {RelativeL2(unet, UnetOutput(reference))}");
        Assert.True(RelativeL2(text, TextOutput(reference)) < Tolerance, $"text encoders differ by {RelativeL2(text, TextOutput(reference))}");
        // Only kohya_sd1 has a key for no layer; everything else matched.
        Assert.Equal(prompt.Contains("kohya_sd1") ? 1 : 0, warnings.Count);
    }

    [Fact]
    public void KeysThatMatchNothingAreReportedByName()
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1");
        var warnings = new List<string>();
        using (model.Addons.Activate(Tags("<lora:kohya_sd1:1> <lora:nowhere:1>"), warnings)) { }
        Assert.Contains(warnings, w => w.Contains("lora_unet_not_a_layer_anywhere", StringComparison.Ordinal) && w.Contains("kohya_sd1", StringComparison.Ordinal));
        Assert.Contains("Lora not found: nowhere", warnings);
    }

    [Fact]
    public void AnSdxlLoraOnAnSd1ModelIsReportedNotApplied()
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1");
        float[] before = UnetOutput(model);
        var warnings = new List<string>();
        using (model.Addons.Activate(Tags("<lora:kohya_sdxl:1>"), warnings)) { }
        Assert.NotEmpty(warnings);
        Assert.Equal(before, UnetOutput(model));
    }

    [Fact]
    public void TheWeightsAreBitIdenticalAfterARequestWithALora()
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1");
        var slots = model.Unet.WeightSlots.Values.Concat(model.TextEncoder!.WeightSlots.Values).ToList();
        var originals = slots.Select(s => s.Tensor).ToList();
        var values = slots.Select(s => s.Tensor.ToArray()).ToList();
        float[] unetBefore = UnetOutput(model), textBefore = TextOutput(model);
        using (var active = model.Addons.Activate(Tags("<lora:kohya_sd1:1> <lora:loha_sd1:0.5>"), []))
        {
            Assert.Contains(slots, s => s.IsReplaced);
            Assert.NotEqual(unetBefore, UnetOutput(model));
        }
        Assert.All(slots, s => Assert.False(s.IsReplaced));
        for (int i = 0; i < slots.Count; i++)
        {
            Assert.Same(originals[i], slots[i].Tensor);
            Assert.Equal(values[i], slots[i].Tensor.ToArray());
        }
        Assert.Equal(unetBefore, UnetOutput(model));
        Assert.Equal(textBefore, TextOutput(model));
    }

    [Fact]
    public void AGenerationWithLorasAndAHypernetworkLeavesEveryWeightBitIdentical()
    {
        // Every weight slot of the UNet and the text encoder (all linear and convolution weights and biases), hashed
        // from the bytes the backend holds, before and after a request that merges a kohya LoRA and a LyCORIS file
        // with a full-diff bias, and runs a hypernetwork.
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1", new AddonFolders { Loras = Folder, Hypernetworks = Folder });
        var slots = model.Unet.WeightSlots.Values.Concat(model.TextEncoder!.WeightSlots.Values).ToList();
        string Fingerprint() => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(slots.SelectMany(s => s.Tensor.ToArray()).ToArray().AsSpan())));
        var instances = slots.Select(s => s.Tensor).ToList();
        string before = Fingerprint();
        var request = new GenerationRequest { Prompt = "a red circle", Seed = 2, Steps = 2, SamplerName = "Euler", Width = 64, Height = 64 };
        var generator = new Generator(model);
        float[]? plain = generator.Generate(request).Images[0].Latent;
        var result = generator.Generate(request with { Prompt = "a red circle <lora:kohya_sd1:0.8> <lora:lokr_sd1:0.6> <hypernet:relu_hn:0.5>" });
        Assert.Matches("Lora hashes: \"kohya_sd1: [0-9a-f]{12}, lokr_sd1: [0-9a-f]{12}\"", result.Images[0].Infotext.Text);
        Assert.NotEqual(plain, result.Images[0].Latent);
        Assert.Equal(before, Fingerprint());
        Assert.Equal(instances, slots.Select(s => s.Tensor));
        Assert.Equal(plain, generator.Generate(request).Images[0].Latent);
    }

    [Fact]
    public void AnAliasFromTheMetadataFindsTheFile()
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1");
        var warnings = new List<string>();
        using var active = model.Addons.Activate(Tags("<lora:kohya-alias:0.8>"), warnings);
        Assert.DoesNotContain(warnings, w => w.StartsWith("Lora not found", StringComparison.Ordinal));
        Assert.Equal("kohya-alias", active.Loras.Single().Name);
        Assert.Equal(12, active.Loras.Single().ShortHash.Length);
    }

    [Theory]
    [InlineData("<lora:x:0.5>", 0.5, 0.5)]
    [InlineData("<lora:x:0.5:1.5>", 0.5, 1.5)]
    [InlineData("<lora:x:te=0.2:unet=0.9>", 0.2, 0.9)]
    [InlineData("<lora:x>", 1.0, 1.0)]
    public void MultipliersAreReadAsA1111ReadsThem(string tag, float te, float unet)
    {
        var parsed = Tags(tag)[0];
        var method = typeof(ModelAddons).GetMethod("Multipliers", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var (t, u) = ((float, float))method.Invoke(null, [parsed])!;
        Assert.Equal(te, t);
        Assert.Equal(unet, u);
    }

    [Theory]
    [InlineData("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", LoraTarget.Unet, "down_blocks_0_attentions_0_proj_in", "lora_down.weight")]
    [InlineData("lora_te2_text_model_encoder_layers_0_mlp_fc1.alpha", LoraTarget.TextEncoder2, "text_model_encoder_layers_0_mlp_fc1", "alpha")]
    [InlineData("unet.mid_block.attentions.0.proj_out.lora_B.weight", LoraTarget.Unet, "mid_block.attentions.0.proj_out", "lora_B.weight")]
    [InlineData("text_encoder_2.text_model.encoder.layers.1.self_attn.k_proj.lora_A.weight", LoraTarget.TextEncoder2, "text_model.encoder.layers.1.self_attn.k_proj", "lora_A.weight")]
    [InlineData("unet.up_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_out_lora.up.weight", LoraTarget.Unet, "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_out.0", "lora.up.weight")]
    public void KeysSplitIntoNetworkLayerAndPart(string key, LoraTarget target, string module, string part)
    {
        var parsed = LoraFile.Parse(key);
        Assert.NotNull(parsed);
        Assert.Equal((target, module, part), parsed.Value);
    }
}
