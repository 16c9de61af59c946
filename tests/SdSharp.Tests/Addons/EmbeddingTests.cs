using System.Runtime.InteropServices;
using SdSharp.Addons;
using SdSharp.Generation;
using SdSharp.IO;
using SdSharp.Tensors;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Prompts;
using static SdSharp.Tests.Addons.AddonFixtures;

namespace SdSharp.Tests.Addons;

/// <summary>
/// Textual-inversion embeddings. The SD 1.x fixtures hold rows of the bundled model's token table (redsquare.pt:
/// the rows of "red" and "square", A1111's string_to_param; bluecircle.safetensors: "blue" and "circle",
/// emb_params), so a prompt naming them must condition exactly as the words do.
/// </summary>
public sealed class EmbeddingTests : IDisposable
{
    private readonly CpuBackendHolder _cpu = new();
    private readonly StableDiffusionModel _model;

    public EmbeddingTests()
    {
        _model = StableDiffusionModel.Load(Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"), _cpu.Backend,
            new ModelLoadOptions { Addons = new AddonFolders { Embeddings = Folder } });
    }

    public void Dispose()
    {
        _model.Dispose();
        _cpu.Dispose();
    }

    private static float[] Conditioning(TextConditioner conditioner, string prompt)
    {
        var plan = PromptPlanner.Plan(prompt, "", 1);
        var encoded = conditioner.Encode([plan.Texts[0]]);
        try
        {
            return encoded[0].CrossAttention.ToArray();
        }
        finally
        {
            foreach (var c in encoded.Distinct()) c.Dispose();
        }
    }

    [Theory]
    [InlineData("a large redsquare at the top on a blue background", "a large red square at the top on a blue background")]
    [InlineData("a small bluecircle on the left", "a small blue circle on the left")]
    [InlineData("(redsquare:1.3) and bluecircle", "(red square:1.3) and blue circle")]
    public void ANamedEmbeddingConditionsAsTheWordsItsVectorsCameFrom(string withEmbedding, string withWords)
    {
        var db = _model.Addons.Embeddings;
        Assert.Equal(["bluecircle", "redsquare"], db.Loaded.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, db.Loaded["redsquare"].VectorCount);
        var conditioner = _model.CreateConditioner(ConditioningOptions.Default);
        Assert.Equal(Conditioning(conditioner, withWords), Conditioning(conditioner, withEmbedding));
        Assert.NotEqual(Conditioning(conditioner, withWords), Conditioning(conditioner, withEmbedding.Replace("redsquare", "red").Replace("bluecircle", "blue")));
    }

    [Theory]
    [InlineData(73, false)] // 73 + 2 vectors fill the chunk exactly
    [InlineData(74, true)]  // 74 + 2 would cross the 75-token boundary: the embedding starts the next chunk
    public void AMultiVectorEmbeddingIsNeverSplitAcrossChunks(int filler, bool moves)
    {
        string words = string.Join(" ", Enumerable.Repeat("circle", filler));
        var conditioner = _model.CreateConditioner(ConditioningOptions.Default);
        float[] actual = Conditioning(conditioner, words + " redsquare");
        // BREAK pads the chunk out and starts a new one, which is what A1111 does for an embedding that does not fit.
        float[] expected = Conditioning(conditioner, words + (moves ? " BREAK red square" : " red square"));
        Assert.Equal(expected, actual);
        Assert.Equal((moves ? 2 : 1) * PromptChunk.Length * _model.TextEncoder!.Config.HiddenSize, actual.Length);
    }

    [Fact]
    public void EmbeddingsOfAnotherWidthAreSkippedAndLeaveTheirNameAsWords()
    {
        var db = _model.Addons.Embeddings;
        Assert.Contains("wrong_width", db.Skipped.Keys); // [1, 64] for a 32-wide encoder
        Assert.Contains("sdxl_emb", db.Skipped.Keys);    // clip_l + clip_g: 64 wide together
        var conditioner = _model.CreateConditioner(ConditioningOptions.Default);
        // Not replaced: the name is tokenized like any text.
        Conditioning(conditioner, "wrong_width");
        Assert.Empty(conditioner.UsedEmbeddings);
    }

    [Fact]
    public void TheInfotextNamesTheEmbeddingsWithTheirFilesHashes()
    {
        var request = new GenerationRequest { Prompt = "a redsquare", NegativePrompt = "bluecircle", Seed = 1, Steps = 2, SamplerName = "Euler", Width = 64, Height = 64 };
        var image = new Generator(_model).Generate(request).Images[0];
        string Hash(string file) => SdSharp.Generation.Infotext.ModelHashes.Default.Sha256(File(file))[..12];
        // A1111 encodes the negative prompt first and lists the latest encoding's embeddings first.
        Assert.Contains($"TI hashes: \"redsquare: {Hash("redsquare.pt")}, bluecircle: {Hash("bluecircle.safetensors")}\"", image.Infotext.Text);
        var words = new Generator(_model).Generate(request with { Prompt = "a red square", NegativePrompt = "blue circle" }).Images[0];
        Assert.Equal(words.Latent, image.Latent);
        Assert.DoesNotContain("TI hashes", words.Infotext.Text);
    }

    [Fact]
    public void SdxlEmbeddingsGiveEachEncoderItsOwnVectors()
    {
        // sdxl_emb.safetensors: clip_l [3, 32] and clip_g [3, 32]. A copy with clip_g changed must leave the first
        // encoder's channels (the first 32 of each token) as they were and change the second's.
        string dir = TestPaths.NewTempDirectory();
        System.IO.File.Copy(File("sdxl_emb.safetensors"), Path.Combine(dir, "sdxl_emb.safetensors"));
        using (var original = SafetensorsFile.Open(File("sdxl_emb.safetensors")))
        {
            var tensors = original.Tensors.Select(t =>
            {
                float[] values = t.ToFloat32();
                if (t.Name == "clip_g") values = [.. values.Select(v => -v)];
                return (t.Name, ElementType.F32, t.Shape, (ReadOnlyMemory<byte>)MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
            }).ToList();
            SafetensorsWriter.Write(Path.Combine(dir, "other_g.safetensors"), tensors, new Dictionary<string, string>(), overwrite: true);
        }
        using var cpu = NewCpu();
        using var model = StableDiffusionModel.Load(TestPaths.Fixture("models", "sdxl", "diffusers"), cpu,
            new ModelLoadOptions { Tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer"), Addons = new AddonFolders { Embeddings = dir } });
        Assert.Equal(["other_g", "sdxl_emb"], model.Addons.Embeddings.Loaded.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(3, model.Addons.Embeddings.Loaded["sdxl_emb"].VectorCount);
        var conditioner = model.CreateConditioner(ConditioningOptions.Default);
        float[] a = Conditioning(conditioner, "a sdxl_emb circle"), b = Conditioning(conditioner, "a other_g circle");
        int width = model.TextEncoder!.Config.HiddenSize + model.TextEncoder2!.Config.HiddenSize, first = model.TextEncoder.Config.HiddenSize;
        bool firstSame = true, secondSame = true;
        for (int i = 0; i < a.Length; i++)
        {
            if (i % width < first) firstSame &= a[i] == b[i];
            else secondSame &= a[i] == b[i];
        }
        Assert.True(firstSame, "clip_l's channels changed with clip_g");
        Assert.False(secondSame, "clip_g's vectors were not used");
        Assert.NotEqual(Conditioning(conditioner, "a circle"), a);
    }

    /// <summary>One CPU backend per test class instance.</summary>
    private sealed class CpuBackendHolder : IDisposable
    {
        public Cpu.CpuBackend Backend { get; } = NewCpu();
        public void Dispose() => Backend.Dispose();
    }
}
