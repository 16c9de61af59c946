using SdSharp.Models.Layers;
using SdSharp.Tensors;

namespace SdSharp.Text.Encoders;

// The blocks of a CLIP text transformer, fields named as transformers names the weights
// (OpenCLIP files are renamed onto these names by OpenClipLayout).

/// <summary>text_model.embeddings: token embedding plus learned absolute positions.</summary>
internal sealed class ClipTextEmbeddings
{
    private readonly IBackend _backend;
    private readonly Tensor token_embedding;
    private readonly Tensor position_embedding;

    public ClipTextEmbeddings(WeightReader w, ClipTextConfig config)
    {
        _backend = w.Backend;
        token_embedding = w.Child("token_embedding").Load("weight", config.VocabSize, config.HiddenSize);
        position_embedding = w.Child("position_embedding").Load("weight", config.MaxPositions, config.HiddenSize);
    }

    /// <summary>ids [batch·length] → [batch, length, hidden], with some token embeddings replaced.</summary>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, IReadOnlyList<TokenOverride>? overrides = null)
    {
        int length = ids.Length / batch;
        int[] positionIds = [.. Enumerable.Range(0, length)];
        Tensor tokens = _backend.Embedding(token_embedding, ids);
        if (overrides is { Count: > 0 })
        {
            using var looked = tokens;
            tokens = Splice(looked, length, overrides);
        }
        using var sequence = tokens.Reshape(batch, length, -1);
        tokens.Dispose();
        // The table may stay f16 on the device: gather its rows (in compute precision) rather than add it directly.
        using var positions = _backend.Embedding(position_embedding, positionIds);
        return _backend.Binary(sequence, BinaryOp.Add, positions);
    }

    /// <summary>The rows of [N, hidden] token embeddings with the overridden runs cut out and the vectors put in.</summary>
    private Tensor Splice(Tensor rows, int length, IReadOnlyList<TokenOverride> overrides)
    {
        int hidden = rows.Shape[1], total = rows.Shape[0];
        var parts = new List<Tensor>();
        try
        {
            int at = 0;
            foreach (TokenOverride o in overrides.OrderBy(o => o.Sequence * length + o.Position))
            {
                int start = o.Sequence * length + o.Position;
                if (o.Position < 0 || o.Position + o.Count > length || start < at || o.Vectors.Length != o.Count * hidden)
                    throw new ArgumentException($"an embedding override of {o.Count} vectors at {o.Position} does not fit a sequence of {length} {hidden}-wide tokens");
                if (start > at) parts.Add(_backend.Slice(rows, 0, at, start - at));
                parts.Add(_backend.FromHost(o.Vectors, new Shape(o.Count, hidden)));
                at = start + o.Count;
            }
            if (at < total) parts.Add(_backend.Slice(rows, 0, at, total - at));
            return _backend.Concat(parts, 0);
        }
        finally
        {
            parts.ForEach(p => p.Dispose());
        }
    }
}

/// <summary>text_model.encoder.layers.N: pre-LN causal self-attention and MLP, each added to the residual.</summary>
internal sealed class ClipEncoderLayer
{
    private readonly LayerNorm layer_norm1;
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm2;
    private readonly ClipMlp mlp;

    public ClipEncoderLayer(WeightReader w, ClipTextConfig config)
    {
        layer_norm1 = new LayerNorm(w.Child("layer_norm1"), config.HiddenSize, config.LayerNormEps);
        self_attn = new ClipAttention(w.Child("self_attn"), config);
        layer_norm2 = new LayerNorm(w.Child("layer_norm2"), config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(w.Child("mlp"), config);
    }

    public Tensor Forward(Tensor x)
    {
        Tensor attended;
        using (var h = layer_norm1.Forward(x)) attended = self_attn.Forward(h, residual: x);
        using (attended)
        using (var h = layer_norm2.Forward(attended))
            return mlp.Forward(h, residual: attended);
    }
}

internal sealed class ClipAttention
{
    private readonly IBackend _backend;
    private readonly int _heads;
    private readonly Linear q_proj, k_proj, v_proj, out_proj;

    public ClipAttention(WeightReader w, ClipTextConfig config)
    {
        _backend = w.Backend;
        _heads = config.Heads;
        int c = config.HiddenSize;
        q_proj = new Linear(w.Child("q_proj"), c, c);
        k_proj = new Linear(w.Child("k_proj"), c, c);
        v_proj = new Linear(w.Child("v_proj"), c, c);
        out_proj = new Linear(w.Child("out_proj"), c, c);
    }

    /// <summary>Causal: CLIP's text tower lets each token see only itself and the tokens before it.</summary>
    public Tensor Forward(Tensor h, Tensor residual)
    {
        using var q = q_proj.Forward(h);
        using var k = k_proj.Forward(h);
        using var v = v_proj.Forward(h);
        using var attention = _backend.Attention(q, k, v, _heads, causal: true);
        return out_proj.Forward(attention, residual);
    }
}

internal sealed class ClipMlp
{
    private readonly IBackend _backend;
    private readonly Activation _activation;
    private readonly Linear fc1, fc2;

    public ClipMlp(WeightReader w, ClipTextConfig config)
    {
        _backend = w.Backend;
        _activation = config.Activation;
        fc1 = new Linear(w.Child("fc1"), config.HiddenSize, config.IntermediateSize);
        fc2 = new Linear(w.Child("fc2"), config.IntermediateSize, config.HiddenSize);
    }

    public Tensor Forward(Tensor h, Tensor residual)
    {
        using var up = fc1.Forward(h);
        using var activated = _backend.Activate(up, _activation);
        return fc2.Forward(activated, residual);
    }
}
