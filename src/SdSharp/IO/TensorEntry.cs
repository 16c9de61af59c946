using System.Buffers.Binary;
using System.Runtime.InteropServices;
using SdSharp.Tensors;

namespace SdSharp.IO;

/// <summary>
/// One tensor of a model file: its name, element type, shape and bytes (contiguous, row-major, little-endian).
/// The bytes live in the file's memory mapping, or in a buffer the file owns, and stay valid until the
/// file is disposed. Reading an entry copies nothing; backends decide whether and how to convert.
/// </summary>
public sealed unsafe class TensorEntry
{
    private readonly TensorFile _owner;
    private readonly byte* _data;

    internal TensorEntry(TensorFile owner, string name, ElementType type, long[] shape, byte* data)
    {
        _owner = owner;
        Name = name;
        Type = type;
        Shape = shape;
        long count = 1;
        foreach (long d in shape) count = checked(count * d);
        ElementCount = count;
        _data = data;
    }

    public string Name { get; }
    public ElementType Type { get; }
    public long[] Shape { get; }
    public long ElementCount { get; }
    public long ByteLength => ElementCount * Type.Size();

    /// <summary>The first byte of the tensor's data; valid while the owning file is open.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_owner.IsDisposed, _owner);
            return _data;
        }
    }

    public ReadOnlySpan<byte> Bytes => new(Pointer, checked((int)ByteLength));

    /// <summary>
    /// The same bytes under another name and shape, starting <paramref name="byteOffset"/> bytes in: a row range of
    /// a matrix (OpenCLIP's fused q/k/v projection) or a reshape ([C, C, 1, 1] as [C, C]). No copy.
    /// </summary>
    public TensorEntry View(string name, long[] shape, long byteOffset = 0)
    {
        long count = 1;
        foreach (long d in shape) count = checked(count * d);
        if (byteOffset < 0 || byteOffset + count * Type.Size() > ByteLength)
            throw new ArgumentException($"{Name}: a view of [{string.Join(", ", shape)}] at byte {byteOffset} does not fit.");
        return new TensorEntry(_owner, name, Type, shape, Pointer + byteOffset);
    }

    /// <summary>The bytes will not be read again soon: see <see cref="TensorFile.DropFromMemory"/>.</summary>
    public void DropFromMemory() => _owner.DropFromMemory(this);

    /// <summary>Converts the elements to fp32 (integers and bools by value).</summary>
    public float[] ToFloat32()
    {
        var result = new float[checked((int)ElementCount)];
        CopyToFloat32(result);
        return result;
    }

    public void CopyToFloat32(Span<float> destination)
    {
        if (destination.Length != ElementCount)
            throw new ArgumentException($"{Name}: destination holds {destination.Length} elements, tensor has {ElementCount}.");
        ReadOnlySpan<byte> bytes = Bytes;
        switch (Type)
        {
            case ElementType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination); break;
            case ElementType.F16: NumericConversions.HalfToSingle(MemoryMarshal.Cast<byte, Half>(bytes), destination); break;
            case ElementType.BF16: NumericConversions.BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes), destination); break;
            default:
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)ReadAsDouble(bytes, i);
                break;
        }
    }

    /// <summary>Element i as a double, whatever the stored type (for small tensors and diagnostics).</summary>
    public double ReadAsDouble(long index)
    {
        if ((ulong)index >= (ulong)ElementCount) throw new ArgumentOutOfRangeException(nameof(index));
        int size = Type.Size();
        return ReadAsDouble(new ReadOnlySpan<byte>(Pointer + index * size, size), 0);
    }

    private double ReadAsDouble(ReadOnlySpan<byte> bytes, int i) => Type switch
    {
        ElementType.F64 => BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]),
        ElementType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]),
        ElementType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]),
        ElementType.BF16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * 2)..]) << 16),
        ElementType.I64 => BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]),
        ElementType.I32 => BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]),
        ElementType.I16 => BinaryPrimitives.ReadInt16LittleEndian(bytes[(i * 2)..]),
        ElementType.I8 => (sbyte)bytes[i],
        ElementType.U8 => bytes[i],
        ElementType.Bool => bytes[i] != 0 ? 1 : 0,
        _ => throw new InvalidOperationException(),
    };

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
