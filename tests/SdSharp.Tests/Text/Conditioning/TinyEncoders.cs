using SdSharp.Cpu;
using SdSharp.Tests.Text.Encoders;
using SdSharp.Text;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Encoders;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Conditioning;

/// <summary>The tiny fixture text encoders, loaded once for the conditioning tests, and host-side expectations.</summary>
public sealed class TinyEncoders : IDisposable
{
    private readonly List<LoadedClip> _loaded = [];

    public TinyEncoders()
    {
        Sd1 = Load(LoadedClip.Single(Cpu, ClipFixture.Sd1));
        Sd2Single = Load(LoadedClip.Single(Cpu, ClipFixture.Sd2));
        Sd2Diffusers = Load(LoadedClip.Diffusers(Cpu, ClipFixture.Sd2));
        SdxlL = Load(LoadedClip.Single(Cpu, ClipFixture.SdxlL));
        SdxlG = Load(LoadedClip.Single(Cpu, ClipFixture.SdxlG));
        SdxlLDiffusers = Load(LoadedClip.Diffusers(Cpu, ClipFixture.SdxlL));
        SdxlGDiffusers = Load(LoadedClip.Diffusers(Cpu, ClipFixture.SdxlG));
        RefinerG = Load(LoadedClip.Single(Cpu, ClipFixture.RefinerG));
    }

    public CpuBackend Cpu { get; } = new(threads: 2);
    public static ClipTokenizer Tokenizer => TinyClipTokenizer.Shared.Value;

    public ClipTextModel Sd1 { get; }
    public ClipTextModel Sd2Single { get; }
    public ClipTextModel Sd2Diffusers { get; }
    public ClipTextModel SdxlL { get; }
    public ClipTextModel SdxlG { get; }
    public ClipTextModel SdxlLDiffusers { get; }
    public ClipTextModel SdxlGDiffusers { get; }
    public ClipTextModel RefinerG { get; }

    private ClipTextModel Load(LoadedClip clip)
    {
        _loaded.Add(clip);
        return clip.Model;
    }

    public static IReadOnlyList<PromptChunk> Chunks(string text) =>
        new PromptChunker(Tokenizer).Chunk(EmphasisParser.Parse(text)).Chunks;

    /// <summary>One chunk through a model, no emphasis: [77·C] on the host.</summary>
    public static float[] Raw(ClipTextModel model, PromptChunk chunk, HiddenLayer hidden, bool zeroPad = false)
    {
        int[] ids = [.. chunk.Tokens];
        if (zeroPad) ids.AsSpan(Array.IndexOf(ids, Tokenizer.EosId) + 1).Clear();
        using var output = model.Encode(ids, 1, hidden.Layers, keep: [hidden.Layers]);
        if (!hidden.FinalLayerNorm) return output.Hidden(hidden.Layers).ToArray();
        using var normed = output.FinalLayerNorm(hidden.Layers);
        return normed.ToArray();
    }

    /// <summary>bigG's projected pooled output of one chunk (zero-padded, as OpenCLIP is fed).</summary>
    public static float[] Pooled(ClipTextModel model, PromptChunk chunk)
    {
        int[] ids = [.. chunk.Tokens];
        ids.AsSpan(Array.IndexOf(ids, Tokenizer.EosId) + 1).Clear();
        using var output = model.Encode(ids, 1);
        using var projected = output.Projected();
        return projected.ToArray();
    }

    /// <summary>
    /// A1111's "Original" emphasis written out on the host, in double: row <paramref name="row"/> of a batch of raw
    /// outputs, weighted, times mean(raw batch) / mean(weighted batch).
    /// </summary>
    public static float[] Emphasised(IReadOnlyList<float[]> raws, IReadOnlyList<PromptChunk> chunks, int row, EmphasisMode mode = EmphasisMode.Original)
    {
        int channels = raws[0].Length / PromptChunk.Length;
        double before = 0, after = 0;
        var weighted = new double[raws.Count][];
        for (int r = 0; r < raws.Count; r++)
        {
            weighted[r] = new double[raws[r].Length];
            for (int i = 0; i < raws[r].Length; i++)
            {
                weighted[r][i] = raws[r][i] * (double)chunks[r].Weights[i / channels];
                before += raws[r][i];
                after += weighted[r][i];
            }
        }
        double factor = mode == EmphasisMode.Original ? before / after : 1;
        return mode == EmphasisMode.Ignore ? raws[row] : [.. weighted[row].Select(v => (float)(v * factor))];
    }

    public static double Mean(float[] x) => x.Average(v => (double)v);

    public void Dispose()
    {
        foreach (LoadedClip clip in _loaded) clip.Dispose();
        Cpu.Dispose();
    }
}
