using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using SdSharp.IO.Pickle;

namespace SdSharp.IO;

/// <summary>
/// Turns an unpickled checkpoint into tensor entries: walks the object tree, names each tensor by its path of
/// dict keys and list indices joined with "." (a top-level "state_dict" is unwrapped, as every SD loader does),
/// gives each tensor contiguous bytes (a view into the storage, or a copy for strided tensors), and collects the
/// top-level numbers and strings as metadata.
/// </summary>
internal sealed unsafe class CheckpointTree
{
    /// <summary>Deeper than any real checkpoint; bounds the walk's recursion on a hostile pickle.</summary>
    private const int MaxDepth = 100;

    /// <summary>Longer than any real tensor name; bounds the strings a hostile pickle can make us build.</summary>
    private const int MaxNameLength = 4096;

    private readonly TensorFile _owner;
    private readonly NativeBuffers _buffers;
    private readonly long _copyBudget;
    private readonly HashSet<object> _visited = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<PickleTensor, nint> _data = new(ReferenceEqualityComparer.Instance);
    private readonly List<TensorEntry> _tensors = [];
    private long _copied;

    private CheckpointTree(TensorFile owner, NativeBuffers buffers, long copyBudget)
    {
        _owner = owner;
        _buffers = buffers;
        _copyBudget = copyBudget;
    }

    private string Path => _owner.Path;

    /// <param name="copyBudget">The most bytes strided tensors may be copied into, so a hostile stride-0 view
    /// of a tiny storage cannot make us allocate terabytes.</param>
    public static (List<TensorEntry> Tensors, Dictionary<string, string> Metadata) Build(
        TensorFile owner, object? root, NativeBuffers buffers, long copyBudget)
    {
        var tree = new CheckpointTree(owner, buffers, copyBudget);
        if (root is PickleDict dict && dict.Get("state_dict") is PickleDict stateDict)
        {
            tree.Walk(stateDict, "", 0, collect: true);
            tree.Walk(root, "", 0, collect: false); // names (for PickleTensor.Entry) of tensors elsewhere, e.g. optimizer state
        }
        else if (root is PickleTensor single) tree.AddTensor(single, "tensor", collect: true);
        else tree.Walk(root, "", 0, collect: true);
        return (tree._tensors, TopLevelMetadata(root));
    }

    private void Walk(object? node, string prefix, int depth, bool collect)
    {
        if (node is PickleTensor tensor)
        {
            AddTensor(tensor, prefix, collect);
            return;
        }
        if (node is not (PickleDict or List<object?> or PickleTuple or PickleObject) || !_visited.Add(node)) return;
        if (depth >= MaxDepth) throw FormatErrors.At(Path, $"checkpoint nests containers more than {MaxDepth} deep");
        switch (node)
        {
            case PickleDict dict:
                foreach (var (key, value) in dict)
                    if (MayHoldTensors(value) && KeyName(key) is string name) Walk(value, Join(prefix, name), depth + 1, collect);
                break;
            case IReadOnlyList<object?> list: // list or tuple
                for (int i = 0; i < list.Count; i++)
                    if (MayHoldTensors(list[i])) Walk(list[i], Join(prefix, i.ToString(CultureInfo.InvariantCulture)), depth + 1, collect);
                break;
            case PickleObject obj:
                Walk(obj.State ?? obj.Arguments, prefix, depth + 1, collect);
                break;
        }
    }

    /// <summary>
    /// Names are built only on the way to tensors and unvisited containers: a list of a million numbers, or a
    /// million references to one list, costs no strings.
    /// </summary>
    private bool MayHoldTensors(object? value) =>
        value is PickleTensor || value is PickleDict or List<object?> or PickleTuple or PickleObject && !_visited.Contains(value);

    private string Join(string prefix, string name)
    {
        if (prefix.Length + name.Length + 1 > MaxNameLength) throw FormatErrors.At(Path, $"a tensor name is longer than {MaxNameLength} characters");
        return prefix.Length == 0 ? name : prefix + "." + name;
    }

    private static string? KeyName(object? key) => key switch
    {
        string s => s,
        long or BigInteger or bool => PythonText(key),
        _ => null,
    };

    private void AddTensor(PickleTensor tensor, string name, bool collect)
    {
        if (tensor.Entry == null)
        {
            byte* data = DataOf(tensor, name);
            tensor.Entry = new TensorEntry(_owner, name, tensor.ElementType, tensor.Shape, data);
        }
        if (!collect) return;
        TensorEntry first = tensor.Entry;
        // Tied weights: the same tensor under several names shares the bytes.
        _tensors.Add(first.Name == name ? first : new TensorEntry(_owner, name, first.Type, first.Shape, (byte*)_data[tensor]));
    }

    private byte* DataOf(PickleTensor tensor, string name)
    {
        if (_data.TryGetValue(tensor, out nint known)) return (byte*)known;
        byte* storage = tensor.Storage.Data;
        if (storage == null) throw FormatErrors.AtTensor(Path, name, "its storage has no data");
        int size = tensor.ElementType.Size();
        byte* result;
        if (tensor.IsContiguous) result = storage + tensor.StorageOffset * size;
        else
        {
            ShapeMath.TryElementCount(tensor.Shape, out long count); // validated when the tensor was rebuilt
            if (count > (_copyBudget - _copied) / size)
                throw FormatErrors.AtTensor(Path, name, "strided tensor is too large to copy (its strides repeat a small storage)");
            long bytes = count * size;
            _copied += bytes;
            result = _buffers.Allocate(bytes);
            CopyStrided(tensor, storage, result, size);
        }
        _data[tensor] = (nint)result;
        return result;
    }

    /// <summary>Gathers a strided view into contiguous row-major order, one innermost row at a time.</summary>
    private static void CopyStrided(PickleTensor tensor, byte* storage, byte* target, int size)
    {
        long[] shape = tensor.Shape, strides = tensor.Strides;
        int rank = shape.Length;
        long inner = shape[rank - 1], innerStride = strides[rank - 1];
        var index = new long[rank];
        long source = tensor.StorageOffset;
        ShapeMath.TryElementCount(shape, out long count);
        for (long done = 0; done < count; done += inner)
        {
            if (innerStride == 1) Unsafe.CopyBlockUnaligned(target, storage + source * size, (uint)(inner * size));
            else
                for (long i = 0; i < inner; i++)
                    Unsafe.CopyBlockUnaligned(target + i * size, storage + (source + i * innerStride) * size, (uint)size);
            target += inner * size;
            // Odometer over the outer dimensions.
            for (int d = rank - 2; d >= 0; d--)
            {
                source += strides[d];
                if (++index[d] < shape[d]) break;
                source -= strides[d] * shape[d];
                index[d] = 0;
            }
        }
    }

    private static Dictionary<string, string> TopLevelMetadata(object? root)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root is not PickleDict dict) return metadata;
        foreach (var (key, value) in dict)
            if (KeyName(key) is string name && value is string or long or BigInteger or double or bool)
                metadata[name] = PythonText(value);
        return metadata;
    }

    /// <summary>A primitive as Python's str() writes it, culture-invariant ("True", "0.5", "1e-05").</summary>
    private static string PythonText(object? value) => value switch
    {
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        BigInteger i => i.ToString(CultureInfo.InvariantCulture),
        double d when double.IsNaN(d) => "nan",
        double d when double.IsInfinity(d) => d > 0 ? "inf" : "-inf",
        double d => FloatText(d),
        _ => "",
    };

    private static string FloatText(double d)
    {
        string text = d.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
        return text.Contains('.') || text.Contains('e') ? text : text + ".0";
    }
}
