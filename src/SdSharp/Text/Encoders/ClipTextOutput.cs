using SdSharp.Tensors;

namespace SdSharp.Text.Encoders;

/// <summary>
/// What one <see cref="ClipTextModel.Encode"/> computed: the hidden states it kept, from which the conditioning
/// rules of each Stable Diffusion family are read (with or without the final layer norm, pooled, projected)
/// without running the layers again. Disposing frees the kept states; tensors returned by the methods that
/// compute something new belong to the caller.
/// </summary>
public sealed class ClipTextOutput : IDisposable
{
    private readonly ClipTextModel _model;
    private readonly Dictionary<int, Tensor> _hidden;
    private readonly int[] _poolPositions;

    internal ClipTextOutput(ClipTextModel model, Dictionary<int, Tensor> hidden, int layers, int[] poolPositions, int batch, int length)
    {
        _model = model;
        _hidden = hidden;
        _poolPositions = poolPositions;
        Layers = layers;
        Batch = batch;
        Length = length;
    }

    /// <summary>How many layers ran.</summary>
    public int Layers { get; }
    public int Batch { get; }
    public int Length { get; }

    /// <summary>The positions the pooled output is read at, one per sequence.</summary>
    public IReadOnlyList<int> PoolPositions => _poolPositions;

    /// <summary>
    /// The hidden state [batch, length, hidden] after <paramref name="layers"/> layers, before the final layer norm
    /// (transformers' <c>hidden_states[layers]</c>). Owned by this output.
    /// </summary>
    public Tensor Hidden(int layers) =>
        _hidden.TryGetValue(layers, out Tensor? x) ? x
            : throw new InvalidOperationException($"the hidden state after {layers} layers was not kept (ran {Layers}, kept {string.Join(", ", _hidden.Keys.Order())})");

    /// <summary>The hidden state after <paramref name="layers"/> layers with the final layer norm applied (a new tensor);
    /// after every layer this is transformers' <c>last_hidden_state</c>.</summary>
    public Tensor FinalLayerNorm(int layers) => _model.FinalLayerNorm(Hidden(layers));

    /// <summary>The final-normed last state at each sequence's pool position, [batch, hidden] (transformers' pooler_output).</summary>
    public Tensor Pooled()
    {
        if (Layers != _model.Config.Layers)
            throw new InvalidOperationException($"the pooled output needs all {_model.Config.Layers} layers; {Layers} ran");
        Tensor last = Hidden(Layers);
        var rows = new int[Batch];
        for (int b = 0; b < Batch; b++) rows[b] = b * Length + _poolPositions[b];
        // The layer norm works row by row, so gathering first normalises only the rows needed.
        using var flat = last.Reshape(Batch * Length, -1);
        using var picked = _model.Backend.Embedding(flat, rows);
        return _model.FinalLayerNorm(picked);
    }

    /// <summary>The pooled output through text_projection, [batch, projection] (transformers' text_embeds).</summary>
    public Tensor Projected()
    {
        using var pooled = Pooled();
        return _model.Project(pooled);
    }

    public void Dispose()
    {
        foreach (Tensor t in _hidden.Values) t.Dispose();
        _hidden.Clear();
    }
}
