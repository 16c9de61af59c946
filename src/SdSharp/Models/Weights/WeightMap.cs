using System.Runtime.InteropServices;
using SdSharp.IO;

namespace SdSharp.Models.Weights;

/// <summary>How a stored tensor is turned into the one a network expects.</summary>
public enum WeightTransform
{
    None,
    /// <summary>Part <c>Index</c> of <c>Parts</c> equal row blocks (OpenCLIP's fused in_proj → q, k, v).</summary>
    RowBlock,
    /// <summary>[a, b] → [b, a] (OpenCLIP's text_projection is stored for x @ W). The only transform that copies.</summary>
    Transpose,
}

/// <summary>Where one canonical weight is stored, and how to read it.</summary>
public readonly record struct StoredWeight(TensorEntry Entry, WeightTransform Transform = WeightTransform.None, int Index = 0, int Parts = 1);

/// <summary>
/// One network's weights (a UNet, a VAE, a text encoder) under canonical names, whatever layout the file uses.
/// Canonical names are those of the original checkpoints (LDM) for UNet and VAE and of HF transformers for CLIP
/// text encoders; a <see cref="IWeightLayout"/> says how a file's keys map onto them. Entries are views into the
/// file (no copy) except transposed ones, which the map owns.
/// </summary>
public sealed class WeightMap : IDisposable
{
    private readonly Dictionary<string, StoredWeight> _weights;
    private readonly Dictionary<string, TensorEntry> _resolved = new();
    private readonly OwnedTensors _owned = new();

    private WeightMap(string description, Dictionary<string, StoredWeight> weights, IReadOnlyList<string> unclaimed)
    {
        Description = description;
        _weights = weights;
        Unclaimed = unclaimed;
    }

    /// <summary>What the map was read from, for messages: "unet of model.safetensors (original layout)".</summary>
    public string Description { get; }

    /// <summary>Keys of this network's part of the file that no rule of the layout recognised.</summary>
    public IReadOnlyList<string> Unclaimed { get; }

    public IReadOnlyCollection<string> Names => _weights.Keys;
    public int Count => _weights.Count;

    public static WeightMap Build(TensorFile file, IWeightLayout layout)
    {
        var weights = new Dictionary<string, StoredWeight>(StringComparer.Ordinal);
        var unclaimed = new List<string>();
        foreach (TensorEntry entry in file.Tensors)
        {
            if (!layout.Owns(entry.Name)) continue;
            bool any = false;
            foreach (var (name, stored) in layout.Map(entry))
            {
                weights[name] = stored;
                any = true;
            }
            if (!any) unclaimed.Add(entry.Name);
        }
        return new WeightMap($"{layout.Describe} of {Path.GetFileName(file.Path)}", weights, unclaimed);
    }

    public bool Contains(string name) => _weights.ContainsKey(name);

    /// <summary>The shape a weight has once transformed, or null when absent.</summary>
    public long[]? ShapeOf(string name)
    {
        if (!_weights.TryGetValue(name, out var w)) return null;
        long[] s = w.Entry.Shape;
        return w.Transform switch
        {
            WeightTransform.RowBlock => [s[0] / w.Parts, .. s[1..]],
            WeightTransform.Transpose => [s[1], s[0]],
            _ => s,
        };
    }

    /// <summary>The weight as the network expects it (a view of the file, or a transposed copy).</summary>
    public TensorEntry Get(string name)
    {
        if (_resolved.TryGetValue(name, out var cached)) return cached;
        if (!_weights.TryGetValue(name, out var w)) throw new KeyNotFoundException($"{Description}: no weight {name}");
        long[] shape = ShapeOf(name)!;
        TensorEntry entry = w.Transform switch
        {
            WeightTransform.RowBlock => w.Entry.View(name, shape, w.Index * (w.Entry.ByteLength / w.Parts)),
            WeightTransform.Transpose => _owned.Transposed(name, w.Entry),
            _ => w.Entry,
        };
        _resolved[name] = entry;
        return entry;
    }

    public void Dispose() => _owned.Dispose();

    /// <summary>Memory for the few weights that must be copied (transposed).</summary>
    private sealed unsafe class OwnedTensors() : TensorFile("(converted weights)")
    {
        private readonly List<TensorEntry> _entries = new();
        private readonly List<nint> _blocks = new();

        public override string Format => "memory";
        public override IReadOnlyList<TensorEntry> Tensors => _entries;

        public TensorEntry Transposed(string name, TensorEntry source)
        {
            if (source.Shape.Length != 2) throw new ModelFormatException($"{source.Name}: expected a matrix to transpose, got [{string.Join(", ", source.Shape)}]");
            long rows = source.Shape[0], cols = source.Shape[1];
            int size = source.Type.Size();
            byte* dst = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, source.ByteLength));
            _blocks.Add((nint)dst);
            byte* src = source.Pointer;
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < cols; c++)
                    Buffer.MemoryCopy(src + (r * cols + c) * size, dst + (c * rows + r) * size, size, size);
            var entry = new TensorEntry(this, name, source.Type, [cols, rows], dst);
            _entries.Add(entry);
            return entry;
        }

        protected override void ReleaseMemory()
        {
            foreach (nint block in _blocks) NativeMemory.Free((void*)block);
            _blocks.Clear();
        }
    }
}

/// <summary>How the keys of one file layout map onto one network's canonical weight names.</summary>
public interface IWeightLayout
{
    /// <summary>"unet (original layout)", "text_encoder_2 (diffusers layout)".</summary>
    string Describe { get; }

    /// <summary>Whether the stored key belongs to this network at all (by its prefix).</summary>
    bool Owns(string storedName);

    /// <summary>The canonical weights a stored tensor provides (usually one; three for a fused q/k/v).</summary>
    IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry);
}
