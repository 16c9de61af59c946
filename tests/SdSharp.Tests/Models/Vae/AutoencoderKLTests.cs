using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Models.Vae;
using SdSharp.Models.Weights;
using SdSharp.Tensors;
using SdSharp.Tests.Tensors;

namespace SdSharp.Tests.Models.Vae;

/// <summary>The VAE against diffusers' outputs on the tiny fixtures of every family, in both file layouts.</summary>
public sealed class AutoencoderKLTests : IDisposable
{
    private readonly CpuBackend _cpu = new(threads: 2);

    public void Dispose() => _cpu.Dispose();

    [Theory]
    [MemberData(nameof(ModelFixtures.FamiliesAndLayouts), MemberType = typeof(ModelFixtures))]
    public void EncoderMomentsMatchDiffusers(string family, bool singleFile)
    {
        using var vae = Open(family, singleFile);
        Assert.Empty(vae.Model.UnusedWeights);
        using var reference = ModelFixtures.Reference(family);
        using var image = ModelFixtures.UploadNhwc(_cpu, reference, "vae_image");
        using var moments = vae.Model.Encode(image);
        string what = $"{family} ({(singleFile ? "single file" : "diffusers")})";
        AssertMatches(reference, "vae_mean", moments.Mean, what + " mean");
        AssertMatches(reference, "vae_logvar", moments.LogVar, what + " logvar");
    }

    [Theory]
    [MemberData(nameof(ModelFixtures.FamiliesAndLayouts), MemberType = typeof(ModelFixtures))]
    public void DecoderOutputMatchesDiffusers(string family, bool singleFile)
    {
        using var vae = Open(family, singleFile);
        using var reference = ModelFixtures.Reference(family);
        using var latent = ModelFixtures.UploadNhwc(_cpu, reference, "vae_latent");
        using var image = vae.Model.Decode(latent);
        Assert.Equal(new Shape(1, 32, 32, 3), image.Shape);
        AssertMatches(reference, "vae_decoded", image, $"{family} decoded ({(singleFile ? "single file" : "diffusers")})");
    }

    /// <summary>
    /// A VAE computing on another backend (as SDXL's runs in fp32 beside an fp16 pipeline) takes and returns the
    /// pipeline's tensors and computes the same values.
    /// </summary>
    [Fact]
    public void AVaeOnASiblingBackendTakesAndReturnsThePipelinesTensors()
    {
        using var sibling = _cpu.CreateSibling(DType.F32);
        using var vae = Open("sdxl", singleFile: false, compute: sibling);
        using var reference = ModelFixtures.Reference("sdxl");
        using var image = ModelFixtures.UploadNhwc(_cpu, reference, "vae_image");
        using var moments = vae.Model.Encode(image);
        Assert.Same(_cpu, moments.Mean.Backend);
        Assert.Same(_cpu, moments.LogVar.Backend);
        AssertMatches(reference, "vae_mean", moments.Mean, "sibling mean");
        AssertMatches(reference, "vae_logvar", moments.LogVar, "sibling logvar");
        using var latent = ModelFixtures.UploadNhwc(_cpu, reference, "vae_latent");
        using var decoded = vae.Model.Decode(latent);
        Assert.Same(_cpu, decoded.Backend);
        AssertMatches(reference, "vae_decoded", decoded, "sibling decoded");
    }

    /// <summary>Standalone VAE files (vae-ft-mse-840000-ema-pruned.safetensors) have the original names with no prefix.</summary>
    [Fact]
    public void StandaloneVaeFileLoadsWithAnEmptyPrefix()
    {
        string dir = TestPaths.NewTempDirectory();
        string path = Path.Combine(dir, "vae.safetensors");
        using (var single = SafetensorsFile.Open(ModelFixtures.SingleFile("sd1")))
        {
            const string prefix = "first_stage_model.";
            SafetensorsWriter.Write(path, single.Tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal))
                .Select(t => (t.Name[prefix.Length..], t.Type, t.Shape, (ReadOnlyMemory<byte>)t.Bytes.ToArray())));
        }
        try
        {
            using var file = SafetensorsFile.Open(path);
            using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", ""));
            var config = VaeConfig.FromWeights(map, normGroups: 4);
            using var vae = new AutoencoderKL(_cpu, map, config);
            Assert.Empty(vae.UnusedWeights);
            using var reference = ModelFixtures.Reference("sd1");
            using var latent = ModelFixtures.UploadNhwc(_cpu, reference, "vae_latent");
            using var image = vae.Decode(latent);
            AssertMatches(reference, "vae_decoded", image, "standalone file decoded");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Tiles as diffusers' enable_tiling cuts and blends them (tools/reference/make_vae_tiling_fixture.py): the tiny
    /// VAE's 32-pixel tiles over a 10×7 latent (batch 2) and an 80×56 image, edge tiles ragged. Tiled and whole
    /// results differ by up to 3.3 on this random VAE (each tile has its own GroupNorm statistics), so this sees the cut.
    /// </summary>
    [Fact]
    public void TiledDecodeAndEncodeMatchDiffusersTiling()
    {
        using var vae = Open("sd1", singleFile: false);
        Assert.Equal(32, vae.Model.Config.SampleSize);
        vae.Model.Tiling = true;
        using var reference = SafetensorsFile.Open(TestPaths.Fixture("vae-tiling", "sd1.safetensors"));
        using var latent = ModelFixtures.UploadNhwc(_cpu, reference, "latent");
        using var decoded = vae.Model.Decode(latent);
        Assert.Equal(new Shape(2, 80, 56, 3), decoded.Shape);
        AssertMatches(reference, "decoded", decoded, "tiled decode");
        using var image = ModelFixtures.UploadNhwc(_cpu, reference, "image");
        using var moments = vae.Model.Encode(image);
        Assert.Equal(new Shape(1, 10, 7, 4), moments.Mean.Shape);
        AssertMatches(reference, "mean", moments.Mean, "tiled encode mean");
        AssertMatches(reference, "logvar", moments.LogVar, "tiled encode logvar");

        // Without Tiling an image that fits is done whole.
        vae.Model.Tiling = false;
        using var whole = vae.Model.Decode(latent);
        Assert.True(whole.ToArray().Zip(decoded.ToArray()).Max(p => Math.Abs(p.First - p.Second)) > 0.1);
    }

    /// <summary>
    /// Without <see cref="AutoencoderKL.Tiling"/>, a backend that cannot run the whole image (here: any convolution
    /// over more than a tile's 32 pixels) makes the VAE fall back to tiles: diffusers' tiled results again.
    /// </summary>
    [Fact]
    public void AVaeTheBackendCannotRunWholeFallsBackToTiles()
    {
        var limited = new LimitedBackend(_cpu, maxSide: 32);
        using var vae = Open("sd1", singleFile: false, compute: limited);
        Assert.False(vae.Model.Tiling);
        using var reference = SafetensorsFile.Open(TestPaths.Fixture("vae-tiling", "sd1.safetensors"));
        using var latent = ModelFixtures.UploadNhwc(_cpu, reference, "latent");
        using var decoded = vae.Model.Decode(latent);
        AssertMatches(reference, "decoded", decoded, "decode after the fallback");
        // The abandoned whole-image attempt freed what it had made (a GPU would otherwise keep that memory).
        Assert.All(limited.Results, t => Assert.True(t.IsDisposed));
        using var image = ModelFixtures.UploadNhwc(_cpu, reference, "image");
        using var moments = vae.Model.Encode(image);
        AssertMatches(reference, "mean", moments.Mean, "encode after the fallback");
    }

    /// <summary>Another backend, refusing convolutions over images wider or taller than <c>maxSide</c> as a GPU refuses what it cannot hold.</summary>
    private sealed class LimitedBackend(IBackend inner, int maxSide) : IBackend
    {
        public string Name => inner.Name + " (limited)";
        public DType ComputeType => inner.ComputeType;
        public IBackend CreateSibling(DType computeType) => inner.CreateSibling(computeType);
        public Tensor Full(Shape shape, float value) => Made(inner.Full(shape, value));
        public Tensor FromHost(ReadOnlySpan<float> data, Shape shape) => Made(inner.FromHost(data, shape));
        public Tensor Scalars(ReadOnlySpan<float> values) => Made(inner.Scalars(values));
        public Tensor LoadWeight(TensorEntry entry) => inner.LoadWeight(entry);
        public void CopyToHost(Tensor tensor, Span<float> destination) => inner.CopyToHost(tensor, destination);
        public void Synchronize() => inner.Synchronize();
        public Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null, Tensor? residual = null) => Made(inner.Linear(x, weight, bias, residual));
        public Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, Conv2dOptions options, Tensor? residual = null) =>
            Math.Max(x.Shape[1], x.Shape[2]) > maxSide ? throw new DeviceCapacityException($"Conv2d of {x.Shape}: larger than this backend runs")
                : Made(inner.Conv2d(x, weight, bias, options, residual));
        public Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, bool causal = false) => Made(inner.Attention(q, k, v, heads, causal));
        public Tensor GroupNorm(Tensor x, Tensor weight, Tensor bias, int groups, float eps, bool silu = false) => Made(inner.GroupNorm(x, weight, bias, groups, eps, silu));
        public Tensor LayerNorm(Tensor x, Tensor weight, Tensor? bias, float eps) => Made(inner.LayerNorm(x, weight, bias, eps));
        public Tensor Activate(Tensor x, Activation function) => Made(inner.Activate(x, function));
        public Tensor Geglu(Tensor x) => Made(inner.Geglu(x));
        public Tensor Binary(Tensor a, BinaryOp op, Tensor b) => Made(inner.Binary(a, op, b));
        public Tensor Axpby(float alpha, Tensor x, float beta, Tensor y) => Made(inner.Axpby(alpha, x, beta, y));
        public Tensor Affine(Tensor x, float scale, float shift = 0) => Made(inner.Affine(x, scale, shift));
        public Tensor Clamp(Tensor x, float min, float max) => Made(inner.Clamp(x, min, max));
        public Tensor Concat(IReadOnlyList<Tensor> parts, int axis) => Made(inner.Concat(parts, axis));
        public Tensor Slice(Tensor x, int axis, int start, int count) => Made(inner.Slice(x, axis, start, count));
        public Tensor UpsampleNearest2x(Tensor x) => Made(inner.UpsampleNearest2x(x));
        public Tensor Resize(Tensor x, int height, int width, ResizeMode mode) => Made(inner.Resize(x, height, width, mode));
        public Tensor Embedding(Tensor table, ReadOnlySpan<int> ids) => Made(inner.Embedding(table, ids));
        public Tensor TimestepEmbedding(Tensor timesteps, int dim, bool flipSinToCos, float downscaleFreqShift) =>
            inner.TimestepEmbedding(timesteps, dim, flipSinToCos, downscaleFreqShift);
        public Tensor Convert(Tensor x, DType dtype) => Made(inner.Convert(x, dtype));
        public void Dispose() { }

        /// <summary>Every tensor an op made (weights aside): after a call, all should be freed again.</summary>
        public List<Tensor> Results { get; } = [];

        private Tensor Made(Tensor t)
        {
            Results.Add(t);
            return t;
        }
    }

    [Fact]
    public void SampleIsMeanPlusStandardDeviationTimesNoiseAndModeIsMean()
    {
        using var vae = Open("sd1", singleFile: true);
        using var reference = ModelFixtures.Reference("sd1");
        using var image = ModelFixtures.UploadNhwc(_cpu, reference, "vae_image");
        using var moments = vae.Model.Encode(image);
        float[] noise = Reference.Random((int)moments.Mean.ElementCount, 5, 2f);
        using var noiseTensor = _cpu.FromHost(noise, moments.Mean.Shape);
        using var sample = moments.Sample(noiseTensor);
        using var mode = moments.Mode();

        float[] mean = moments.Mean.ToArray(), logVar = moments.LogVar.ToArray();
        var expected = mean.Select((m, i) => (float)(m + Math.Exp(0.5 * logVar[i]) * noise[i])).ToArray();
        Reference.AssertClose(expected, sample.ToArray(), 1e-5, "sample");
        Assert.Equal(mean, mode.ToArray());
    }

    [Fact]
    public void LogVarianceIsClampedAsDiffusersDoes()
    {
        // quant_conv's bias pushed far out: the log-variance channels hit both ends of the clamp.
        using var single = SafetensorsFile.Open(ModelFixtures.SingleFile("sd1"));
        using var edited = new MemoryTensorFile();
        foreach (var t in single.Tensors.Where(t => t.Name.StartsWith("first_stage_model.", StringComparison.Ordinal)))
        {
            float[] values = t.ToFloat32();
            if (t.Name == "first_stage_model.quant_conv.bias")
                for (int c = 4; c < 8; c++) values[c] = c % 2 == 0 ? 1000 : -1000;
            edited.Add(t.Name, values, ElementType.F32, t.Shape);
        }
        using var map = WeightMap.Build(edited, new PrefixLayout("vae (original layout)", "first_stage_model."));
        using var vae = new AutoencoderKL(_cpu, map, VaeConfig.FromWeights(map, normGroups: 4));
        using var image = _cpu.Full(new Shape(1, 16, 16, 3), 0.25f);
        using var moments = vae.Encode(image);
        float[] logVar = moments.LogVar.ToArray();
        for (int i = 0; i < logVar.Length; i++)
            Assert.Equal(i % 2 == 0 ? 20f : -30f, logVar[i]);
    }

    /// <summary>
    /// With circular padding the decoder commutes with circular shifts: shifting the latent by one pixel shifts the
    /// image by eight. Zero padding breaks that at the borders, so this sees the tiling switch work everywhere.
    /// </summary>
    [Fact]
    public void CircularPaddingMakesTheDecoderCommuteWithWrappedShifts()
    {
        using var vae = Open("sd1", singleFile: true);
        float[] latent = Reference.Random(4 * 4 * 4, 9, 2f);
        (float[] OfShifted, float[] ShiftedOf) DecodeBoth(PaddingMode mode)
        {
            vae.Model.Padding.Mode = mode;
            using var z = _cpu.FromHost(latent, new Shape(1, 4, 4, 4));
            using var zShifted = _cpu.FromHost(Roll(latent, 4, 4, 4, 1, 2), new Shape(1, 4, 4, 4));
            using var image = vae.Model.Decode(z);
            using var imageOfShifted = vae.Model.Decode(zShifted);
            return (imageOfShifted.ToArray(), Roll(image.ToArray(), 32, 32, 3, 8, 16));
        }
        var circular = DecodeBoth(PaddingMode.Circular);
        Reference.AssertClose(circular.ShiftedOf, circular.OfShifted, 1e-5, "circular");
        var zeros = DecodeBoth(PaddingMode.Zeros);
        Assert.True(zeros.ShiftedOf.Zip(zeros.OfShifted).Max(p => Math.Abs(p.First - p.Second)) > 1e-2, "zero padding should not commute with shifts");
    }

    [Fact]
    public void ScalingHelpersApplyTheFactorBothWays()
    {
        using var vae = Open("sd1", singleFile: false);
        using var sample = _cpu.FromHost([1f, -2f, 0.5f, 4f], new Shape(1, 1, 1, 4));
        using var latent = vae.Model.ToLatent(sample);
        Assert.Equal(new[] { 0.18215f, -0.3643f, 0.091075f, 0.7286f }, latent.ToArray(), new FloatTolerance(1e-6f));
        using var back = vae.Model.FromLatent(latent);
        Assert.Equal(sample.ToArray(), back.ToArray(), new FloatTolerance(1e-6f));
    }

    [Theory]
    [InlineData("decoder.up.1.block.2.conv2.weight")]
    [InlineData("encoder.mid.attn_1.k.bias")]
    [InlineData("post_quant_conv.weight")]
    public void AMissingWeightIsNamed(string missing)
    {
        using var file = CopyOfSingleFile("sd1", (name, values, shape) => name == missing ? null : (values, shape));
        var error = Assert.Throws<ModelFormatException>(() => Build(file));
        Assert.Contains($"{missing} is missing", error.Message);
    }

    [Fact]
    public void AMisshapedWeightIsNamed()
    {
        // The mid attention's query as a 3×3 convolution of the right width: the right number of dimensions, wrong kernel.
        const string name = "decoder.mid.attn_1.q.weight";
        using var file = CopyOfSingleFile("sd1", (n, values, shape) =>
            n == name ? (Enumerable.Repeat(0.01f, 16 * 16 * 9).ToArray(), new long[] { 16, 16, 3, 3 }) : (values, shape));
        var error = Assert.Throws<ModelFormatException>(() => Build(file));
        Assert.Contains($"{name} is [16, 16, 3, 3], expected [16, 16]", error.Message);
    }

    // ---- helpers ----

    /// <summary>A model with the map and file it reads, disposed in that order.</summary>
    private sealed class OpenVae(AutoencoderKL model, WeightMap map, TensorFile file) : IDisposable
    {
        public AutoencoderKL Model { get; } = model;

        public void Dispose()
        {
            Model.Dispose();
            map.Dispose();
            file.Dispose();
        }
    }

    /// <summary>The family's fixture VAE from one layout; the architecture comes from the diffusers config.</summary>
    private OpenVae Open(string family, bool singleFile, IBackend? compute = null)
    {
        VaeConfig config;
        using (var folder = DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family)))
            config = VaeConfig.FromDiffusers(folder.Component("vae").Config);
        TensorFile file = singleFile ? SafetensorsFile.Open(ModelFixtures.SingleFile(family)) : DiffusersFolder.Open(ModelFixtures.DiffusersFolder(family));
        var map = WeightMap.Build(file, singleFile
            ? new PrefixLayout("vae (original layout)", "first_stage_model.")
            : new DiffusersVaeLayout("vae.", config.Levels));
        return new OpenVae(new AutoencoderKL(_cpu, map, config, compute), map, file);
    }

    private void Build(TensorFile file)
    {
        using var map = WeightMap.Build(file, new PrefixLayout("vae (original layout)", "first_stage_model."));
        var config = new VaeConfig { LevelChannels = [8, 8, 16, 16], NormGroups = 4 };
        using var vae = new AutoencoderKL(_cpu, map, config);
    }

    /// <summary>The VAE part of a fixture's single file, in memory, with tensors dropped (null) or replaced.</summary>
    private static MemoryTensorFile CopyOfSingleFile(string family, Func<string, float[], long[], (float[] Values, long[] Shape)?> edit)
    {
        using var single = SafetensorsFile.Open(ModelFixtures.SingleFile(family));
        var copy = new MemoryTensorFile();
        const string prefix = "first_stage_model.";
        foreach (var t in single.Tensors.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal)))
            if (edit(t.Name[prefix.Length..], t.ToFloat32(), t.Shape) is var (values, shape))
                copy.Add(t.Name, values, t.Type, shape);
        return copy;
    }

    private static void AssertMatches(SafetensorsFile reference, string name, Tensor actual, string what)
    {
        var (expected, shape) = ModelFixtures.Read(reference, name);
        Assert.Equal(new Shape(shape[0], shape[2], shape[3], shape[1]), actual.Shape);
        Reference.AssertClose(ModelFixtures.ToNhwc(expected, shape), actual.ToArray(), 1e-4, what);
    }

    /// <summary>A circular shift of an [H, W, C] map by (dy, dx).</summary>
    private static float[] Roll(float[] x, int h, int w, int c, int dy, int dx)
    {
        var y = new float[x.Length];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                Array.Copy(x, (i * w + j) * c, y, (((i + dy) % h) * w + (j + dx) % w) * c, c);
        return y;
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
