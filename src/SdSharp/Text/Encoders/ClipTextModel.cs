using SdSharp.IO;
using SdSharp.Models.Layers;
using SdSharp.Tensors;

namespace SdSharp.Text.Encoders;

/// <summary>Vectors [count, hidden] that replace the token embeddings of sequence <c>Sequence</c> from <c>Position</c> on.</summary>
public sealed record TokenOverride(int Sequence, int Position, float[] Vectors, int Count);

/// <summary>
/// A CLIP text transformer (transformers' <c>CLIPTextModel</c>, or <c>CLIPTextModelWithProjection</c> when the
/// weights have text_projection): token and position embeddings, pre-LN causal transformer layers, a final
/// layer norm, a pooled output at EOS and an optional projection of it. One class serves OpenAI's CLIP-L and
/// OpenCLIP's H and bigG; their files differ only in names (see the layouts) and activation.
/// </summary>
public sealed class ClipTextModel
{
    private readonly ClipTextEmbeddings embeddings;
    private readonly ClipEncoderLayer[] layers;          // text_model.encoder.layers.N
    private readonly LayerNorm final_layer_norm;
    private readonly Linear? text_projection;

    /// <param name="w">A reader at the root of the canonical names (text_model.…, text_projection.…).</param>
    /// <param name="config">
    /// The shape; <see cref="ClipTextConfig.Layers"/> may be fewer than the file holds (SD 2 never uses OpenCLIP's
    /// last block), and those layers are then not loaded.
    /// </param>
    public ClipTextModel(WeightReader w, ClipTextConfig config)
    {
        Config = config;
        Backend = w.Backend;
        WeightSlots = w.Weights.Slots;
        WeightReader text = w.Child("text_model");
        embeddings = new ClipTextEmbeddings(text.Child("embeddings"), config);
        layers = [.. Enumerable.Range(0, config.Layers).Select(i => new ClipEncoderLayer(text.Child($"encoder.layers.{i}"), config))];
        final_layer_norm = new LayerNorm(text.Child("final_layer_norm"), config.HiddenSize, config.LayerNormEps);
        if (w.Has("text_projection.weight"))
        {
            int projection = config.ProjectionDim ?? checked((int)w.ShapeOf("text_projection.weight")![0]);
            text_projection = new Linear(w.Child("text_projection"), config.HiddenSize, projection, bias: false);
            ProjectionDim = projection;
        }
    }

    public ClipTextConfig Config { get; }
    public IBackend Backend { get; }

    /// <summary>The weights of the linear layers by canonical name, which add-ons may lend copies to.</summary>
    public IReadOnlyDictionary<string, WeightSlot> WeightSlots { get; }

    /// <summary>Whether the weights have text_projection (SDXL's and the refiner's bigG, SD 2 files).</summary>
    public bool HasProjection => text_projection != null;

    /// <summary>Width of <see cref="ClipTextOutput.Projected"/>, or null without a projection.</summary>
    public int? ProjectionDim { get; }

    /// <summary>
    /// Runs the embeddings and the first <paramref name="layerCount"/> layers (all by default) on
    /// <paramref name="batch"/> sequences of token ids laid end to end.
    /// </summary>
    /// <param name="keep">
    /// Hidden states to keep besides the last, by the number of layers run before them (0 is the embeddings'
    /// output, as transformers' <c>hidden_states[0]</c>); the others are freed as the layers run.
    /// </param>
    /// <param name="overrides">
    /// Vectors that replace token embeddings (textual-inversion embeddings, as A1111's EmbeddingsWithFixes): the
    /// positions' position embeddings are still added.
    /// </param>
    public ClipTextOutput Encode(ReadOnlySpan<int> ids, int batch, int? layerCount = null, IReadOnlyCollection<int>? keep = null,
        IReadOnlyList<TokenOverride>? overrides = null)
    {
        int run = layerCount ?? layers.Length;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(run);
        if (run > layers.Length) throw new ArgumentOutOfRangeException(nameof(layerCount), $"{run} layers asked of a model with {layers.Length}");
        if (ids.Length % batch != 0) throw new ArgumentException($"{ids.Length} token ids do not split into {batch} sequences");
        int length = ids.Length / batch;
        if (length > Config.MaxPositions)
            throw new InvalidInputException($"{length} tokens in one sequence; the text encoder takes at most {Config.MaxPositions}");

        var kept = new Dictionary<int, Tensor>();
        var output = new ClipTextOutput(this, kept, run, PoolPositions(ids, batch, length), batch, length);
        Tensor? x = null;
        try
        {
            x = embeddings.Forward(ids, batch, overrides);
            for (int i = 0; ; i++)
            {
                bool last = i == run;
                if (last || keep?.Contains(i) == true) kept[i] = x;
                if (last) break;
                Tensor next = layers[i].Forward(x);
                if (!kept.ContainsKey(i)) x.Dispose();
                x = next;
            }
        }
        catch
        {
            if (x != null && !kept.ContainsValue(x)) x.Dispose();
            output.Dispose();
            throw;
        }
        return output;
    }

    internal Tensor FinalLayerNorm(Tensor x) => final_layer_norm.Forward(x);

    internal Tensor Project(Tensor pooled) =>
        (text_projection ?? throw new InvalidOperationException("this text encoder has no text_projection")).Forward(pooled);

    /// <summary>The token each sequence's pooled output is read at.</summary>
    private int[] PoolPositions(ReadOnlySpan<int> ids, int batch, int length)
    {
        var positions = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            ReadOnlySpan<int> row = ids.Slice(b * length, length);
            int at = 0;
            if (Config.Pooling == ClipPooling.ArgmaxId)
            {
                for (int i = 1; i < row.Length; i++)
                    if (row[i] > row[at]) at = i;   // the first of equal maxima, as torch.argmax
            }
            else
            {
                at = Math.Max(0, row.IndexOf(Config.EosTokenId));  // no EOS: position 0, as argmax over all-false
            }
            positions[b] = at;
        }
        return positions;
    }
}
