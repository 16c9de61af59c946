using System.Runtime.InteropServices;
using SdSharp.IO;
using SdSharp.Tensors;

namespace SdSharp.Addons;

/// <summary>
/// Tensors made in memory (merged weights), as entries a backend can load like any file's. The CPU backend may
/// use a matrix in place, so the file must live as long as the tensors loaded from it.
/// </summary>
internal sealed unsafe class HostTensorFile() : TensorFile("(add-on weights)")
{
    private readonly List<TensorEntry> _entries = [];
    private readonly List<nint> _blocks = [];

    public override string Format => "memory";
    public override IReadOnlyList<TensorEntry> Tensors => _entries;

    /// <summary>Stores <paramref name="values"/> as <paramref name="type"/> (F32, F16 or BF16), rounding once; thread-safe.</summary>
    public TensorEntry Add(string name, ReadOnlySpan<float> values, ElementType type, long[] shape)
    {
        int size = type.Size();
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, (long)values.Length * size), 64);
        lock (_blocks) _blocks.Add((nint)data);
        switch (type)
        {
            case ElementType.F32: values.CopyTo(new Span<float>(data, values.Length)); break;
            case ElementType.F16: NumericConversions.SingleToHalf(values, new Span<Half>(data, values.Length)); break;
            case ElementType.BF16: NumericConversions.SingleToBFloat16(values, new Span<ushort>(data, values.Length)); break;
            default: throw new ArgumentException($"{name}: cannot store a merged weight as {type}");
        }
        var entry = new TensorEntry(this, name, type, shape, data);
        lock (_blocks) _entries.Add(entry);
        return entry;
    }

    protected override void ReleaseMemory()
    {
        foreach (nint block in _blocks) NativeMemory.AlignedFree((void*)block);
        _blocks.Clear();
    }
}
