using System.Buffers.Binary;

namespace SdSharp.IO;

/// <summary>
/// A safetensors file: an 8-byte little-endian header length, a JSON header, then the tensors' bytes. The file
/// is memory-mapped; entries point into the mapping, so opening is cheap and nothing is read until used.
/// </summary>
public sealed unsafe class SafetensorsFile : TensorFile
{
    private readonly MappedFile _file;

    private SafetensorsFile(MappedFile file, List<SafetensorsTensorInfo> infos, Dictionary<string, string> metadata, long dataOffset)
        : base(file.Path)
    {
        _file = file;
        Metadata = metadata;
        DataOffset = dataOffset;
        byte* data = file.Pointer + dataOffset;
        Tensors = infos.Select(t => new TensorEntry(this, t.Name, t.Type, t.Shape, data + t.Begin)).ToArray();
    }

    public override string Format => "safetensors";
    public override IReadOnlyDictionary<string, string> Metadata { get; }
    public override IReadOnlyList<TensorEntry> Tensors { get; }

    /// <summary>Where the data section starts in the file (8 + header length).</summary>
    public long DataOffset { get; }

    public static SafetensorsFile Open(string path) => Open(MappedFile.Open(path));

    /// <summary>Opens a file from its mapping, which the result then owns (disposed on failure too).</summary>
    internal static SafetensorsFile Open(MappedFile file)
    {
        string path = file.Path;
        try
        {
            if (file.Length < 8) throw FormatErrors.At(path, $"file is {file.Length} bytes, shorter than the 8-byte safetensors header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
            if (headerLength > (ulong)(file.Length - 8))
                throw FormatErrors.At(path, $"header length {headerLength} is larger than the file ({file.Length} bytes)");
            if (headerLength > SafetensorsHeader.MaxHeaderBytes)
                throw FormatErrors.At(path, $"header of {headerLength} bytes is larger than the {SafetensorsHeader.MaxHeaderBytes} byte limit");
            ReadOnlySpan<byte> json = file.Span(8, (int)headerLength);
            if (json.IsEmpty || json[0] != (byte)'{') throw FormatErrors.At(path, "header does not start with '{'");
            long dataOffset = 8 + (long)headerLength;
            var (tensors, metadata) = SafetensorsHeader.Parse(path, json, file.Length - dataOffset);
            return new SafetensorsFile(file, tensors, metadata, dataOffset);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public override void DropFromMemory(TensorEntry entry) => _file.DropPages(entry.Pointer, entry.ByteLength);

    protected override void ReleaseMemory() => _file.Dispose();
}
