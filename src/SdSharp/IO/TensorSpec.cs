namespace SdSharp.IO;

/// <summary>A tensor's name, element type and shape, without its data: what a writer is told up front.</summary>
public sealed record TensorSpec(string Name, ElementType Type, long[] Shape)
{
    public long ElementCount => ShapeMath.TryElementCount(Shape, out long count) ? count
        : throw new ArgumentException($"{Name}: invalid shape [{string.Join(", ", Shape)}]");

    public long ByteLength => checked(ElementCount * Type.Size());
}
