using System.Text.Json;

namespace SdSharp.IO;

/// <summary>
/// A JSON configuration file (a diffusers <c>config.json</c>, <c>model_index.json</c>) kept as a
/// <see cref="JsonElement"/> with typed getters: no reflection-based deserialization (the app is trimmed),
/// and errors that name the file and the key.
/// </summary>
public sealed class JsonConfig
{
    private JsonConfig(string path, JsonElement root)
    {
        Path = path;
        Root = root;
    }

    public string Path { get; }

    /// <summary>The whole document (an object).</summary>
    public JsonElement Root { get; }

    public static JsonConfig Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelFormatException($"{path}: file not found", e);
        }
        return Parse(path, bytes);
    }

    public static JsonConfig Parse(string path, ReadOnlySpan<byte> json)
    {
        try
        {
            // Diffusers and transformers write NaN/Infinity-free JSON but sometimes trailing commas; allow those.
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: not a JSON object");
            return new JsonConfig(path, document.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new ModelFormatException($"{path}: not valid JSON ({e.Message.Split('\n')[0]})", e);
        }
    }

    /// <summary>True when the key is present (even with a null value).</summary>
    public bool Has(string key) => Root.TryGetProperty(key, out _);

    /// <summary>True when the key is present and not null.</summary>
    public bool HasValue(string key) => Root.TryGetProperty(key, out JsonElement v) && v.ValueKind != JsonValueKind.Null;

    public bool TryGet(string key, out JsonElement value) => Root.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    public JsonElement Get(string key) => TryGet(key, out JsonElement value) ? value : throw Error(key, "is missing");

    public int GetInt(string key) => ToInt(key, Get(key));
    public int GetInt(string key, int fallback) => TryGet(key, out JsonElement v) ? ToInt(key, v) : fallback;
    public long GetLong(string key) => ToLong(key, Get(key));
    public double GetDouble(string key) => ToDouble(key, Get(key));
    public double GetDouble(string key, double fallback) => TryGet(key, out JsonElement v) ? ToDouble(key, v) : fallback;
    public bool GetBool(string key) => ToBool(key, Get(key));
    public bool GetBool(string key, bool fallback) => TryGet(key, out JsonElement v) ? ToBool(key, v) : fallback;
    public string GetString(string key) => ToText(key, Get(key));
    public string? GetString(string key, string? fallback) => TryGet(key, out JsonElement v) ? ToText(key, v) : fallback;

    public int[] GetIntArray(string key) => Items(key).Select(v => ToInt(key, v)).ToArray();
    public double[] GetDoubleArray(string key) => Items(key).Select(v => ToDouble(key, v)).ToArray();
    public string[] GetStringArray(string key) => Items(key).Select(v => ToText(key, v)).ToArray();

    /// <summary>A value diffusers allows as either one int or one per block (attention_head_dim): always an array.</summary>
    public int[] GetIntOrIntArray(string key, int count) =>
        Get(key).ValueKind == JsonValueKind.Array ? GetIntArray(key) : Enumerable.Repeat(GetInt(key), count).ToArray();

    private IEnumerable<JsonElement> Items(string key)
    {
        JsonElement value = Get(key);
        return value.ValueKind == JsonValueKind.Array ? value.EnumerateArray() : throw Error(key, "is not an array");
    }

    private int ToInt(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw Error(key, "is not an integer");

    private long ToLong(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long i) ? i : throw Error(key, "is not an integer");

    private double ToDouble(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw Error(key, "is not a number");

    private bool ToBool(string key, JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error(key, "is not true or false"),
    };

    private string ToText(string key, JsonElement v) =>
        v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(key, "is not a string");

    private ModelFormatException Error(string key, string problem) =>
        new($"{Path}: {FormatErrors.Quote(key)} {problem}");
}
