using SdSharp.IO;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Models.Layers;

/// <summary>
/// What network constructors load their weights through: a name scope over a <see cref="WeightMap"/>, checking
/// every shape. Problems (missing or mis-shaped weights) are collected rather than thrown one at a time, so a
/// broken checkpoint's error lists what is wrong; <see cref="DeviceWeights.Complete"/> throws them.
/// </summary>
public sealed class WeightReader
{
    private readonly DeviceWeights _weights;
    private readonly string _prefix;

    internal WeightReader(DeviceWeights weights, string prefix)
    {
        _weights = weights;
        _prefix = prefix;
    }

    public IBackend Backend => _weights.Backend;

    /// <summary>The network's weights this reader loads into.</summary>
    public DeviceWeights Weights => _weights;

    /// <summary>The scope of a sub-module: reader.Child("in_layers.0") reads "…in_layers.0.weight".</summary>
    public WeightReader Child(string name) => new(_weights, Join(_prefix, name));

    public bool Has(string name) => _weights.Map.Contains(Join(_prefix, name));

    /// <summary>Loads a weight that must have exactly this (checkpoint-layout) shape.</summary>
    public Tensor Load(string name, params long[] shape) => _weights.Load(Join(_prefix, name), shape, matrix: false);

    /// <summary>Loads a [rows, cols] matrix, also when stored as a 1×1 convolution [rows, cols, 1, 1].</summary>
    public Tensor LoadMatrix(string name, long rows, long cols) => _weights.Load(Join(_prefix, name), [rows, cols], matrix: true);

    /// <summary>Like <see cref="Load"/>, as a slot that add-ons may lend a modified copy to (see <see cref="WeightSlot"/>).</summary>
    public WeightSlot Slot(string name, params long[] shape) => _weights.LoadSlot(Join(_prefix, name), shape, matrix: false);

    /// <summary>Like <see cref="LoadMatrix"/>, as a slot.</summary>
    public WeightSlot MatrixSlot(string name, long rows, long cols) => _weights.LoadSlot(Join(_prefix, name), [rows, cols], matrix: true);

    /// <summary>The stored shape of a weight (to size a layer from its checkpoint), or null when absent.</summary>
    public long[]? ShapeOf(string name) => _weights.Map.ShapeOf(Join(_prefix, name));

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>
/// The device tensors of one network, loaded from a <see cref="WeightMap"/>; disposing frees them. The map (and
/// the file behind it) must outlive these tensors: on the CPU they may point into the file's memory.
/// </summary>
public sealed class DeviceWeights : IDisposable
{
    private const int MaxProblems = 20;
    private readonly List<Tensor> _tensors = new();
    private readonly List<string> _problems = new();
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WeightSlot> _slots = new(StringComparer.Ordinal);

    public DeviceWeights(IBackend backend, WeightMap map)
    {
        Backend = backend;
        Map = map;
    }

    public IBackend Backend { get; }
    public WeightMap Map { get; }

    /// <summary>A reader at the root of the network's names.</summary>
    public WeightReader Root => new(this, "");

    /// <summary>The weights loaded as slots (those of linear and convolution layers), by canonical name.</summary>
    public IReadOnlyDictionary<string, WeightSlot> Slots => _slots;

    /// <summary>Changes whenever a slot starts or stops using a replacement (recorded graphs read the tensors they were recorded with).</summary>
    public long Version { get; private set; }

    /// <summary>Weights of the map the network never asked for.</summary>
    public IEnumerable<string> Unused => Map.Names.Where(n => !_used.Contains(n)).Order(StringComparer.Ordinal);

    internal WeightSlot LoadSlot(string name, long[] shape, bool matrix)
    {
        Tensor tensor = Load(name, shape, matrix);
        TensorEntry? stored = Map.Contains(name) ? Map.Get(name) : null;
        var slot = new WeightSlot(name, stored, shape, tensor, () => Version++);
        // A stand-in for a missing weight is no slot: the load fails with the list of problems anyway.
        if (stored != null) _slots[name] = slot;
        return slot;
    }

    internal Tensor Load(string name, long[] shape, bool matrix)
    {
        _used.Add(name);
        long[]? stored = Map.ShapeOf(name);
        bool fits = stored != null && (stored.AsSpan().SequenceEqual(shape) ||
            (matrix && stored.Length == 4 && stored[2] == 1 && stored[3] == 1 && stored[0] == shape[0] && stored[1] == shape[1]));
        if (!fits)
        {
            _problems.Add(stored == null ? $"{name} is missing" : $"{name} is [{string.Join(", ", stored)}], expected [{string.Join(", ", shape)}]");
            if (_problems.Count >= MaxProblems) Complete();
            // A stand-in keeps construction going so the error can list every problem at once.
            return Track(Backend.Full(new Shape(shape.Select(d => (int)d).ToArray()), 0));
        }
        TensorEntry entry = Map.Get(name);
        if (entry.Shape.Length != shape.Length) entry = entry.View(name, shape);
        return Track(Backend.LoadWeight(entry));
    }

    private Tensor Track(Tensor t)
    {
        _tensors.Add(t);
        return t;
    }

    /// <summary>Throws a <see cref="ModelFormatException"/> listing the problems found while loading, if any.</summary>
    public void Complete()
    {
        if (_problems.Count == 0) return;
        string list = string.Join("; ", _problems.Take(5));
        string more = _problems.Count > 5 ? $"; and {(_problems.Count >= MaxProblems ? "at least " : "")}{_problems.Count - 5} more" : "";
        throw new ModelFormatException($"{Map.Description}: {list}{more}");
    }

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
