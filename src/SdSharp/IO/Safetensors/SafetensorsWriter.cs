using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SdSharp.IO;

/// <summary>
/// Writes a safetensors file tensor by tensor, for tools (a checkpoint merger) that cannot hold a whole model
/// in memory. The layout is declared up front, so the header and every offset are known before any data: each
/// tensor is then written straight to its place, in any order (whole, or in consecutive parts so that no tool
/// needs a whole large tensor in memory), and <see cref="Commit"/> moves the finished
/// file under its name. Until then it lives under a temporary name (see <see cref="AtomicFile"/>).
/// </summary>
/// <remarks>
/// As in the reference writer, tensors are laid out by element size (largest first), then by name, so every
/// tensor is aligned to its element size, and the header is padded with spaces to a multiple of 8 bytes.
/// </remarks>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly AtomicFile _file;
    private readonly Dictionary<string, (int Index, long Offset)> _slots;
    private readonly long[] _bytesWritten;
    private readonly bool[] _complete;
    private readonly long _dataOffset;

    private SafetensorsWriter(AtomicFile file, TensorSpec[] layout, long[] offsets, long dataOffset)
    {
        _file = file;
        Layout = layout;
        _dataOffset = dataOffset;
        _bytesWritten = new long[layout.Length];
        _complete = new bool[layout.Length];
        _slots = new Dictionary<string, (int, long)>(StringComparer.Ordinal);
        for (int i = 0; i < layout.Length; i++) _slots[layout[i].Name] = (i, offsets[i]);
    }

    /// <summary>The tensors in the order their data is laid out in the file.</summary>
    public IReadOnlyList<TensorSpec> Layout { get; }

    public string Path => _file.Path;

    public static SafetensorsWriter Create(string path, IEnumerable<TensorSpec> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = false)
    {
        TensorSpec[] layout = [.. tensors.OrderByDescending(t => t.Type.Size()).ThenBy(t => t.Name, StringComparer.Ordinal)];
        var names = new HashSet<string>(StringComparer.Ordinal);
        var offsets = new long[layout.Length];
        long end = 0;
        for (int i = 0; i < layout.Length; i++)
        {
            TensorSpec t = layout[i];
            if (t.Name == "__metadata__") throw new ArgumentException("A tensor cannot be named __metadata__.");
            if (!names.Add(t.Name)) throw new ArgumentException($"Tensor {t.Name} is declared twice.");
            offsets[i] = end;
            end = checked(end + t.ByteLength);
        }
        byte[] header = BuildHeader(layout, offsets, metadata);
        AtomicFile file = AtomicFile.Create(path, overwrite);
        try
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Stream.Write(length);
            file.Stream.Write(header);
            file.Stream.SetLength(8 + header.Length + end);
            return new SafetensorsWriter(file, layout, offsets, 8 + header.Length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Writes a whole set of tensors at once.</summary>
    public static void Write(string path, IEnumerable<(string Name, ElementType Type, long[] Shape, ReadOnlyMemory<byte> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = false)
    {
        var list = tensors.ToList();
        using var writer = Create(path, list.Select(t => new TensorSpec(t.Name, t.Type, t.Shape)), metadata, overwrite);
        foreach (var t in list) writer.WriteTensor(t.Name, t.Data.Span);
        writer.Commit();
    }

    /// <summary>Writes one declared tensor's bytes (little-endian, row-major, exactly its byte length).</summary>
    public void WriteTensor(string name, ReadOnlySpan<byte> data)
    {
        var (index, _) = Slot(name);
        TensorSpec spec = Layout[index];
        if (data.Length != spec.ByteLength)
            throw new ArgumentException($"Tensor {name} needs {spec.ByteLength} bytes, got {data.Length}.");
        if (_complete[index] || _bytesWritten[index] > 0) throw new InvalidOperationException($"Tensor {name} was already written.");
        WriteTensorPart(name, data);
    }

    /// <summary>
    /// Writes the next <paramref name="part"/> of a declared tensor's bytes: parts follow each other in order and
    /// must add up to exactly its byte length.
    /// </summary>
    public void WriteTensorPart(string name, ReadOnlySpan<byte> part)
    {
        var (index, offset) = Slot(name);
        TensorSpec spec = Layout[index];
        if (_complete[index]) throw new InvalidOperationException($"Tensor {name} was already written.");
        long done = _bytesWritten[index];
        if (part.Length > spec.ByteLength - done)
            throw new ArgumentException($"Tensor {name} needs {spec.ByteLength} bytes, {done} written, got {part.Length} more.");
        _file.Stream.Position = _dataOffset + offset + done;
        _file.Stream.Write(part);
        _bytesWritten[index] = done + part.Length;
        _complete[index] = _bytesWritten[index] == spec.ByteLength;
    }

    /// <summary>Checks that every tensor was written completely, then moves the file under its final name.</summary>
    public void Commit()
    {
        int missing = Array.IndexOf(_complete, false);
        if (missing >= 0)
            throw new InvalidOperationException($"Tensor {Layout[missing].Name} was {(_bytesWritten[missing] == 0 ? "never" : "not completely")} written.");
        _file.Commit();
    }

    private (int Index, long Offset) Slot(string name) =>
        _slots.TryGetValue(name, out var slot) ? slot : throw new ArgumentException($"Tensor {name} was not declared.");

    /// <summary>Without a commit, deletes the temporary file.</summary>
    public void Dispose() => _file.Dispose();

    private static byte[] BuildHeader(TensorSpec[] layout, long[] offsets, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps non-ASCII names and metadata readable; it still escapes what JSON requires.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(key, value);
                json.WriteEndObject();
            }
            for (int i = 0; i < layout.Length; i++)
            {
                TensorSpec t = layout[i];
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Type.SafetensorsName());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offsets[i]);
                json.WriteNumberValue(offsets[i] + t.ByteLength);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padding = (8 - buffer.WrittenCount % 8) % 8;
        buffer.GetSpan(padding)[..padding].Fill((byte)' ');
        buffer.Advance(padding);
        return buffer.WrittenSpan.ToArray();
    }
}
