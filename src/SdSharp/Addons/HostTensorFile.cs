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
        DType stored = type switch
        {
            ElementType.F32 => DType.F32,
            ElementType.F16 => DType.F16,
            ElementType.BF16 => DType.BF16,
            _ => throw new ArgumentException($"{name}: cannot store a merged weight as {type}"),
        };
        long bytes = (long)values.Length * stored.Size();
        byte* data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, bytes), 64);
        lock (_blocks) _blocks.Add((nint)data);
        NumericConversions.FromSingle(values, stored, new Span<byte>(data, checked((int)bytes)));
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
