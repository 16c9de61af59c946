using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Models.Layers;

/// <summary>
/// A weight that a layer reads on every call, which add-ons (LoRA and its relatives) may replace with a modified
/// copy for a while and hand back. The original tensor is never written: on the CPU it may be a read-only view of
/// the memory-mapped file, and restoring is then just pointing the layer at it again, which is exact by
/// construction. The slot does not own a replacement; whoever lends it disposes it after <see cref="Restore"/>.
/// </summary>
public sealed class WeightSlot
{
    private readonly Tensor _original;
    private readonly Action _changed;
    private Tensor? _replacement;

    internal WeightSlot(string name, TensorEntry? stored, long[] shape, Tensor original, Action changed)
    {
        _changed = changed;
        Name = name;
        Stored = stored;
        Shape = shape;
        _original = original;
    }

    /// <summary>The canonical weight name, e.g. "input_blocks.1.1.proj_in.weight".</summary>
    public string Name { get; }

    /// <summary>The file's tensor, in checkpoint layout; null for the stand-in of a missing weight.</summary>
    public TensorEntry? Stored { get; }

    /// <summary>The checkpoint-layout shape the layer reads ([out, in] for a linear layer, also when stored [out, in, 1, 1]).</summary>
    public long[] Shape { get; }

    /// <summary>What the layer uses now: the replacement while one is lent, else the original.</summary>
    public Tensor Tensor => _replacement ?? _original;

    public bool IsReplaced => _replacement != null;

    /// <summary>Lends a replacement (same shape and device layout as the original).</summary>
    public void Replace(Tensor replacement)
    {
        if (_replacement != null) throw new InvalidOperationException($"{Name}: a replacement is already lent; restore it first");
        if (!replacement.Shape.Equals(_original.Shape))
            throw new ArgumentException($"{Name}: a replacement of shape {replacement.Shape} for a weight of shape {_original.Shape}");
        _replacement = replacement;
        _changed();
    }

    /// <summary>Points the layer at the original again.</summary>
    public void Restore()
    {
        _replacement = null;
        _changed();
    }
}
