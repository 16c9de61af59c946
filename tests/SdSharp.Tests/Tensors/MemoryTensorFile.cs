using System.Runtime.InteropServices;
using SdSharp.IO;

namespace SdSharp.Tests.Tensors;

/// <summary>An in-memory tensor file for tests: named arrays with a chosen element type.</summary>
internal sealed unsafe class MemoryTensorFile : TensorFile
{
    private readonly List<TensorEntry> _entries = new();
    private readonly List<nint> _blocks = new();

    public MemoryTensorFile() : base("memory") { }

    public override string Format => "memory";
    public override IReadOnlyList<TensorEntry> Tensors => _entries;

    public TensorEntry Add(string name, float[] values, ElementType type, params long[] shape)
    {
        int size = type.Size();
        byte* data = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, values.Length * size));
        _blocks.Add((nint)data);
        for (int i = 0; i < values.Length; i++)
        {
            switch (type)
            {
                case ElementType.F32: ((float*)data)[i] = values[i]; break;
                case ElementType.F16: ((Half*)data)[i] = (Half)values[i]; break;
                case ElementType.BF16: ((ushort*)data)[i] = SdSharp.Tensors.NumericConversions.SingleToBFloat16(values[i]); break;
                case ElementType.F64: ((double*)data)[i] = values[i]; break;
                case ElementType.I64: ((long*)data)[i] = (long)values[i]; break;
                default: throw new NotSupportedException(type.ToString());
            }
        }
        var entry = new TensorEntry(this, name, type, shape, data);
        _entries.Add(entry);
        return entry;
    }

    protected override void ReleaseMemory()
    {
        foreach (nint block in _blocks) NativeMemory.Free((void*)block);
        _blocks.Clear();
    }
}
