using SdSharp.Addons;
using SdSharp.Addons.Hypernetworks;
using SdSharp.Generation;
using SdSharp.IO;
using SdSharp.Tensors;
using SdSharp.Tests.IO;
using static SdSharp.Tests.Addons.AddonFixtures;

namespace SdSharp.Tests.Addons;

/// <summary>
/// A1111 hypernetworks: modules checked against torch's outputs (relu_hn.reference.safetensors), a linear one in
/// the model against the checkpoint with the same change merged into to_k/to_v (linear_hn.merged.safetensors),
/// files written here for the old two-layer format and for the errors.
/// </summary>
public sealed class HypernetworkTests
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    private static AddonFolders Folders => new() { Loras = Folder, Hypernetworks = Folder };

    [Theory]
    [InlineData(32)]
    [InlineData(16)]
    public void ModulesComputeWhatTorchComputed(int width)
    {
        // relu after every layer (activate_output), layer norm, dropout between: x + net(x)·0.6.
        using var cpu = NewCpu();
        using var file = HypernetworkFile.Open(File("relu_hn.pt"));
        using var reference = SafetensorsFile.Open(File("relu_hn.reference.safetensors"));
        using var transform = new HypernetworkTransform(cpu, file, 0.6f);
        var x = reference.Find($"x{width}")!;
        using var input = cpu.FromHost(x.ToFloat32(), new Shape([.. x.Shape.Select(d => (int)d)]));
        Assert.True(transform.Applies(width));
        Assert.False(transform.Applies(8));
        using var k = transform.Key(input);
        using var v = transform.Value(input);
        Assert.True(RelativeL2(k.ToArray(), reference.Find($"k{width}")!.ToFloat32()) < 1e-5);
        Assert.True(RelativeL2(v.ToArray(), reference.Find($"v{width}")!.ToFloat32()) < 1e-5);
    }

    [Fact]
    public void ALinearHypernetworkInTheModelComputesWhatTheMergedCheckpointComputes()
    {
        // With zero biases, to_k(x + m·W2·W1·x) is to_k with m·W_k·W2·W1 added: an exact merge, self-attention included.
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1", Folders);
        using var reference = Load(cpu, File("linear_hn.merged.safetensors"), "sd1");
        float[] before = UnetOutput(model), withHypernetwork;
        var warnings = new List<string>();
        using (model.Addons.Activate(Tags("<hypernet:linear_hn:0.7>"), warnings))
            withHypernetwork = UnetOutput(model);
        Assert.Empty(warnings);
        double error = RelativeL2(withHypernetwork, UnetOutput(reference));
        Assert.True(error < 1e-3, $"UNet differs from the merged reference by {error}");
        Assert.True(RelativeL2(withHypernetwork, before) > 1e-2, "the hypernetwork changed nothing");
        // Disposed: the model computes what it did before, bit for bit.
        Assert.Empty(model.Unet.Attention.Transforms);
        Assert.Equal(before, UnetOutput(model));
    }

    [Fact]
    public void AtWeightZeroTheLatentsAreThoseWithoutAndTheModelIsUnchangedAfter()
    {
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sd1", Folders);
        var generator = new Generator(model);
        var request = new GenerationRequest { Prompt = "a red circle", NegativePrompt = "blue", Seed = 3, Steps = 3, SamplerName = "Euler", Width = 64, Height = 64 };
        float[] unetBefore = UnetOutput(model);
        var plain = generator.Generate(request);
        var zero = generator.Generate(request with { Prompt = request.Prompt + " <hypernet:relu_hn:0>" });
        var full = generator.Generate(request with { Prompt = request.Prompt + " <hypernet:relu_hn:0.6>" });
        Assert.Empty(zero.Warnings);
        Assert.Equal(plain.Images[0].Latent, zero.Images[0].Latent);
        Assert.NotEqual(plain.Images[0].Latent, full.Images[0].Latent);
        Assert.Empty(model.Unet.Attention.Transforms);
        Assert.Equal(unetBefore, UnetOutput(model));
        Assert.Equal(plain.Images[0].Latent, generator.Generate(request).Images[0].Latent);
    }

    [Fact]
    public void TheFirstTwoLayerFormatIsReadWithA1111sDefaults()
    {
        // No options at all: layer_structure [1, 2, 1], no activation; names linear1/linear2.
        var random = new Random(11);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5))];
        float[] w1 = Values(16 * 8), b1 = Values(16), w2 = Values(8 * 16), b2 = Values(8);
        var module = new[] { ("linear1.weight", w1, new long[] { 16, 8 }), ("linear1.bias", b1, [16]), ("linear2.weight", w2, [8, 16]), ("linear2.bias", b2, [8]) };
        string path = WriteHypernetwork("old.pt", 8, module, module);
        using var cpu = NewCpu();
        using var file = HypernetworkFile.Open(path);
        using var transform = new HypernetworkTransform(cpu, file, 0.5f);
        float[] x = Values(3 * 8);
        using var input = cpu.FromHost(x, new Shape(3, 8));
        using var k = transform.Key(input);
        var expected = new float[x.Length];
        for (int r = 0; r < 3; r++)
        {
            var hidden = new double[16];
            for (int i = 0; i < 16; i++) hidden[i] = b1[i] + Enumerable.Range(0, 8).Sum(j => (double)w1[i * 8 + j] * x[r * 8 + j]);
            for (int o = 0; o < 8; o++) expected[r * 8 + o] = (float)(x[r * 8 + o] + 0.5 * (b2[o] + Enumerable.Range(0, 16).Sum(i => w2[o * 16 + i] * hidden[i])));
        }
        Assert.True(RelativeL2(k.ToArray(), expected) < 1e-6);
    }

    [Fact]
    public void UnknownNamesWarnAndBadFilesAreOneLineErrors()
    {
        using var cpu = NewCpu();
        var folders = new AddonFolders { Hypernetworks = _dir };
        using var model = LoadFamily(cpu, "sd1", folders);
        var warnings = new List<string>();
        using (model.Addons.Activate(Tags("<hypernet:nowhere:1>"), warnings)) { }
        Assert.Equal(["Hypernetwork not found: nowhere"], warnings);

        var wrong = new[] { ("linear.0.weight", new float[3 * 8], new long[] { 3, 8 }), ("linear.0.bias", new float[3], [3]) };
        WriteHypernetwork("wrong.pt", 8, wrong, wrong);
        AssertOneLine(Assert.Throws<ModelFormatException>(() => model.Addons.Activate(Tags("<hypernet:wrong>"), [])), "'linear.0.weight' is [3, 8], expected [16, 8]");
        System.IO.File.WriteAllBytes(Path.Combine(_dir, "corrupt.pt"), [0x50, 0x4b, 3, 4, 1, 2, 3]);
        AssertOneLine(Assert.ThrowsAny<InvalidInputException>(() => model.Addons.Activate(Tags("<hypernet:corrupt>"), [])), "corrupt.pt");
        System.IO.File.Copy(TestPaths.Fixture("io", "malicious.pt"), Path.Combine(_dir, "evil.pt"));
        AssertOneLine(Assert.ThrowsAny<Exception>(() => model.Addons.Activate(Tags("<hypernet:evil>"), [])), "posix.system");
        // Nothing half-applied stays behind.
        Assert.Empty(model.Unet.Attention.Transforms);
    }

    [Fact]
    public void AnUnsupportedActivationIsNamed()
    {
        var module = new[] { ("linear.0.weight", new float[16 * 8], new long[] { 16, 8 }), ("linear.0.bias", new float[16], [16]) };
        string path = WriteHypernetwork("prelu.pt", 8, module, module, p => p.Str("activation_func").Str("prelu"));
        AssertOneLine(Assert.Throws<ModelFormatException>(() => HypernetworkFile.Open(path)), "'prelu' is not supported");
    }

    [Fact]
    public void AHypernetworkForOtherWidthsWarns()
    {
        // The SDXL fixture's attention sees widths 16, 32 (image tokens) and 64 (text): a module for 8 fits none.
        var module = new[] { ("linear.0.weight", new float[16 * 8], new long[] { 16, 8 }), ("linear.0.bias", new float[16], [16]),
            ("linear.1.weight", new float[8 * 16], [8, 16]), ("linear.1.bias", new float[8], [8]) };
        WriteHypernetwork("only8.pt", 8, module, module);
        using var cpu = NewCpu();
        using var model = LoadFamily(cpu, "sdxl", new AddonFolders { Hypernetworks = _dir });
        var warnings = new List<string>();
        using (model.Addons.Activate(Tags("<hypernet:only8>"), warnings)) { }
        Assert.Equal(["Hypernetwork only8 has modules for widths 8, none of this model's attention widths (16, 32, 64)"], warnings);
    }

    private static void AssertOneLine(Exception e, string mustMention)
    {
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(mustMention, e.Message);
    }

    /// <summary>torch.save({width: (keys' state dict, values' state dict), options...}) in the zip format.</summary>
    private string WriteHypernetwork(string name, int width, (string Name, float[] Values, long[] Shape)[] key, (string Name, float[] Values, long[] Shape)[] value,
        Action<PickleBuilder>? options = null)
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark().Int(width).Mark();
        var storages = new List<(string, byte[])>();
        foreach (var module in new[] { key, value })
        {
            p.OrderedDict().Mark();
            foreach (var (tensor, values, shape) in module)
            {
                string storage = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                p.Str(tensor).Tensor("FloatStorage", storage, shape);
                storages.Add(($"hn/data/{storage}", TestCheckpoints.Bytes(values)));
            }
            p.SetItems();
        }
        p.Tuple();
        options?.Invoke(p);
        p.SetItems().Stop();
        return TestCheckpoints.Write(_dir, name, ZipBuilder.Stored([("hn/data.pkl", p.ToArray()), .. storages]));
    }
}
