using System.Collections;

namespace SdSharp.IO.Pickle;

// The object tree an unpickled checkpoint is made of. Python values map to:
//   None → null, bool → bool, int → long (or BigInteger beyond 64 bits), float → double, str → string,
//   bytes and bytearray → byte[], list → List<object?>, and the classes below for the rest.

/// <summary>A Python tuple (immutable, hashable when its items are).</summary>
public sealed class PickleTuple(object?[] items) : IReadOnlyList<object?>
{
    public static readonly PickleTuple Empty = new([]);

    internal object?[] Items { get; } = items;

    public object? this[int index] => Items[index];
    public int Count => Items.Length;
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
    public override string ToString() => $"tuple({Count})";
}

/// <summary>A Python dict or collections.OrderedDict: keys in insertion order, as Python keeps them.</summary>
public sealed class PickleDict : IReadOnlyCollection<KeyValuePair<object?, object?>>
{
    private readonly List<KeyValuePair<object?, object?>> _items = [];
    private readonly Dictionary<object, int> _index = new(PickleKeyComparer.Instance);

    public PickleDict(bool isOrderedDict = false) => IsOrderedDict = isOrderedDict;

    /// <summary>True for collections.OrderedDict (state dicts), false for a plain dict.</summary>
    public bool IsOrderedDict { get; }

    /// <summary>Attributes pickled with the dict (torch stores a state dict's <c>_metadata</c> here), or null.</summary>
    public object? State { get; internal set; }

    public int Count => _items.Count;
    public IEnumerable<object?> Keys => _items.Select(kv => kv.Key);

    public bool TryGetValue(object? key, out object? value)
    {
        if (_index.TryGetValue(PickleKeyComparer.Wrap(key), out int i))
        {
            value = _items[i].Value;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>The value under a string key, or null when absent.</summary>
    public object? Get(string key) => TryGetValue(key, out object? value) ? value : null;

    /// <summary>Python's <c>d[key] = value</c>: a new key goes last, an existing one keeps its place.</summary>
    internal void Set(object? key, object? value)
    {
        object wrapped = PickleKeyComparer.Wrap(key);
        if (_index.TryGetValue(wrapped, out int i)) _items[i] = new(_items[i].Key, value);
        else
        {
            _index.Add(wrapped, _items.Count);
            _items.Add(new(key, value));
        }
    }

    public IEnumerator<KeyValuePair<object?, object?>> GetEnumerator() => _items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    public override string ToString() => $"{(IsOrderedDict ? "OrderedDict" : "dict")}({Count})";
}

/// <summary>A Python set or frozenset.</summary>
public sealed class PickleSet(bool isFrozen) : IReadOnlyCollection<object?>
{
    private readonly PickleDict _items = new();

    public bool IsFrozen { get; } = isFrozen;
    public int Count => _items.Count;

    internal void Add(object? item) => _items.Set(item, null);

    public bool Contains(object? item) => _items.TryGetValue(item, out _);
    public IEnumerator<object?> GetEnumerator() => _items.Keys.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    public override string ToString() => $"{(IsFrozen ? "frozenset" : "set")}({Count})";
}

/// <summary>
/// A reference to an allowed Python global (a class, function or constant such as <c>torch.float32</c>), as
/// the pickle named it. It is only a name: nothing is imported or executed.
/// </summary>
public sealed record PickleGlobal(string Module, string Name)
{
    internal GlobalKind Kind { get; init; }

    /// <summary>The element type of a torch storage class or dtype constant.</summary>
    internal ElementType ElementType { get; init; }

    public string FullName => $"{Module}.{Name}";
    public override string ToString() => FullName;
}

/// <summary>
/// An instance of an allowed harmless class (a Lightning callback, a numpy scalar or dtype, a torch version
/// string) kept as inert data: the class name, the arguments it was constructed with and its pickled state.
/// </summary>
public sealed class PickleObject(PickleGlobal type, PickleTuple arguments)
{
    public PickleGlobal Type { get; } = type;
    public PickleTuple Arguments { get; } = arguments;

    /// <summary>Keyword arguments (pickle protocol 4's NEWOBJ_EX), or null.</summary>
    public PickleDict? Keywords { get; internal set; }

    /// <summary>What <c>__setstate__</c> would have received (BUILD), or null.</summary>
    public object? State { get; internal set; }

    public override string ToString() => $"{Type.FullName}(...)";
}

/// <summary>A torch storage: a flat block of elements, saved once and shared by every tensor viewing it.</summary>
public sealed unsafe class PickleStorage
{
    internal PickleStorage(string key, ElementType type, long byteLength, string location)
    {
        Key = key;
        ElementType = type;
        ByteLength = byteLength;
        Location = location;
    }

    /// <summary>The key naming the storage's data in the file (the zip entry <c>data/&lt;key&gt;</c>).</summary>
    public string Key { get; }

    public ElementType ElementType { get; }
    public long ByteLength { get; }

    /// <summary>The device it was saved from ("cpu", "cuda:0"); we load everything to host memory.</summary>
    public string Location { get; }

    /// <summary>The storage's bytes, once the reader has located them (null before).</summary>
    internal byte* Data { get; set; }

    /// <summary>For views of another storage (old legacy files): the storage viewed and the byte offset.</summary>
    internal PickleStorage? Base { get; init; }
    internal long BaseOffset { get; init; }

    public override string ToString() => $"{ElementType}Storage[{Key}] {ByteLength} bytes";
}

/// <summary>A tensor as torch pickles it: a strided view of a storage.</summary>
public sealed class PickleTensor
{
    internal PickleTensor(PickleStorage storage, ElementType type, long storageOffset, long[] shape, long[] strides, bool requiresGrad)
    {
        Storage = storage;
        ElementType = type;
        StorageOffset = storageOffset;
        Shape = shape;
        Strides = strides;
        RequiresGrad = requiresGrad;
    }

    public PickleStorage Storage { get; }
    public ElementType ElementType { get; }

    /// <summary>Offset into the storage, in elements.</summary>
    public long StorageOffset { get; }

    public long[] Shape { get; }

    /// <summary>Strides in elements.</summary>
    public long[] Strides { get; }

    public bool RequiresGrad { get; }

    public bool IsContiguous => ShapeMath.IsContiguous(Shape, Strides);

    /// <summary>
    /// The tensor's contiguous data as an entry of the checkpoint, named by its first path in the object tree;
    /// null only for a tensor that no dict/list path reaches (e.g. under a key that is not a string or int).
    /// </summary>
    public TensorEntry? Entry { get; internal set; }

    public override string ToString() => $"tensor {ElementType} [{string.Join(", ", Shape)}]";
}
