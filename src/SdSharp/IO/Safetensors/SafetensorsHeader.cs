using System.Text.Json;

namespace SdSharp.IO;

/// <summary>One tensor as a safetensors header describes it; offsets are relative to the data section.</summary>
internal readonly record struct SafetensorsTensorInfo(string Name, ElementType Type, long[] Shape, long Begin, long End);

/// <summary>
/// Parses and validates a safetensors header: <c>{"__metadata__": {str: str}, name: {"dtype", "shape",
/// "data_offsets"}, ...}</c>. Uses the forward-only <see cref="Utf8JsonReader"/> straight over the mapped bytes:
/// no copy of a header that may be megabytes, and no reflection (the app is trimmed).
/// </summary>
internal ref struct SafetensorsHeader
{
    /// <summary>The reference implementation's limit; a larger header is corrupt or hostile.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly string _path;
    private Utf8JsonReader _reader;

    private SafetensorsHeader(string path, ReadOnlySpan<byte> json)
    {
        _path = path;
        _reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
    }

    public static (List<SafetensorsTensorInfo> Tensors, Dictionary<string, string> Metadata) Parse(
        string path, ReadOnlySpan<byte> json, long dataLength)
    {
        var header = new SafetensorsHeader(path, json);
        var tensors = new List<SafetensorsTensorInfo>();
        Dictionary<string, string>? metadata = null;
        bool metadataSeen = false;
        try
        {
            header.Read();
            if (header._reader.TokenType != JsonTokenType.StartObject) throw header.Error("header is not a JSON object");
            var names = new HashSet<string>(StringComparer.Ordinal);
            while (header.Read() == JsonTokenType.PropertyName)
            {
                string name = header._reader.GetString()!;
                header.Read();
                if (name == "__metadata__")
                {
                    if (metadataSeen) throw header.Error("__metadata__ appears twice");
                    metadataSeen = true;
                    // null is what the reference writes for "no metadata" in some versions.
                    if (header._reader.TokenType != JsonTokenType.Null) metadata = header.ReadMetadata();
                }
                else
                {
                    if (!names.Add(name)) throw FormatErrors.AtTensor(path, name, "appears twice in the header");
                    tensors.Add(header.ReadTensor(name));
                }
            }
            // Only whitespace (the writer's padding) may follow the object; the reader throws on anything else.
            if (header._reader.Read()) throw header.Error("unexpected data after the header object");
        }
        catch (JsonException e)
        {
            throw FormatErrors.At(path, $"header is not valid JSON ({FirstLine(e.Message)})", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString reports invalid UTF-8 this way.
            throw FormatErrors.At(path, $"header is not valid JSON ({FirstLine(e.Message)})", e);
        }
        Validate(path, tensors, dataLength);
        return (tensors, metadata ?? []);
    }

    private JsonTokenType Read()
    {
        if (!_reader.Read()) throw Error("header JSON ends early");
        return _reader.TokenType;
    }

    private readonly ModelFormatException Error(string problem) => FormatErrors.At(_path, problem);

    private Dictionary<string, string> ReadMetadata()
    {
        if (_reader.TokenType != JsonTokenType.StartObject) throw Error("__metadata__ is not an object of strings");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Read() == JsonTokenType.PropertyName)
        {
            string key = _reader.GetString()!;
            if (Read() != JsonTokenType.String)
                throw Error($"__metadata__ value of {FormatErrors.Quote(key)} is not a string");
            metadata[key] = _reader.GetString()!;
        }
        return metadata;
    }

    private SafetensorsTensorInfo ReadTensor(string name)
    {
        if (_reader.TokenType != JsonTokenType.StartObject) throw FormatErrors.AtTensor(_path, name, "description is not an object");
        ElementType? type = null;
        long[]? shape = null, offsets = null;
        while (Read() == JsonTokenType.PropertyName)
        {
            string field = _reader.GetString()!;
            Read();
            switch (field)
            {
                case "dtype":
                    if (_reader.TokenType != JsonTokenType.String) throw FormatErrors.AtTensor(_path, name, "dtype is not a string");
                    string dtype = _reader.GetString()!;
                    if (!ElementTypeInfo.TryParseSafetensorsName(dtype, out ElementType parsed))
                        throw FormatErrors.AtTensor(_path, name, $"unknown dtype {FormatErrors.Quote(dtype)}");
                    type = parsed;
                    break;
                case "shape":
                    shape = ReadIntegers(name, "shape");
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(name, "data_offsets");
                    if (offsets.Length != 2) throw FormatErrors.AtTensor(_path, name, "data_offsets must hold two numbers");
                    break;
                default:
                    _reader.Skip(); // unknown fields are tolerated, as the reference reader does
                    break;
            }
        }
        if (type == null) throw FormatErrors.AtTensor(_path, name, "missing dtype");
        if (shape == null) throw FormatErrors.AtTensor(_path, name, "missing shape");
        if (offsets == null) throw FormatErrors.AtTensor(_path, name, "missing data_offsets");
        return new SafetensorsTensorInfo(name, type.Value, shape, offsets[0], offsets[1]);
    }

    private long[] ReadIntegers(string name, string field)
    {
        if (_reader.TokenType != JsonTokenType.StartArray) throw FormatErrors.AtTensor(_path, name, $"{field} is not an array");
        var values = new List<long>();
        while (Read() != JsonTokenType.EndArray)
        {
            if (_reader.TokenType != JsonTokenType.Number || !_reader.TryGetInt64(out long value) || value < 0)
                throw FormatErrors.AtTensor(_path, name, $"{field} must hold non-negative integers");
            values.Add(value);
        }
        return [.. values];
    }

    private static void Validate(string path, List<SafetensorsTensorInfo> tensors, long dataLength)
    {
        foreach (var t in tensors)
        {
            if (!ShapeMath.TryByteLength(t.Shape, t.Type, out long bytes))
                throw FormatErrors.AtTensor(path, t.Name, $"shape [{string.Join(", ", t.Shape)}] is too large");
            if (t.End < t.Begin)
                throw FormatErrors.AtTensor(path, t.Name, $"data_offsets [{t.Begin}, {t.End}] are reversed");
            if (t.End > dataLength)
                throw FormatErrors.AtTensor(path, t.Name, $"data_offsets [{t.Begin}, {t.End}] run past the end of the data ({dataLength} bytes)");
            if (t.End - t.Begin != bytes)
                throw FormatErrors.AtTensor(path, t.Name,
                    $"holds {t.End - t.Begin} bytes but {t.Type.SafetensorsName()} [{string.Join(", ", t.Shape)}] needs {bytes}");
        }
        // Tensors must not share bytes; gaps are tolerated (other writers align their data).
        var byStart = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ToList();
        for (int i = 1; i < byStart.Count; i++)
            if (byStart[i].Begin < byStart[i - 1].End)
                throw FormatErrors.AtTensor(path, byStart[i].Name, $"overlaps tensor {FormatErrors.Quote(byStart[i - 1].Name)}");
    }

    private static string FirstLine(string message)
    {
        int newline = message.IndexOfAny(['\r', '\n']);
        return newline < 0 ? message : message[..newline];
    }
}
