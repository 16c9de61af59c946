using System.Text.Json;
using SdSharp.IO;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// Computed file hashes in a JSON file: <c>{"sha256": {"/full/path": {"size": n, "mtime": ticks, "hash": "..."}}}</c>.
/// An entry counts only while the file keeps its size and modification time. The file is advisory: when it is
/// unreadable it is ignored, and when it cannot be written the hash is simply computed again next time. Each
/// store re-reads the file and replaces it atomically, so processes sharing it rarely lose each other's entries.
/// </summary>
internal sealed class HashCache(string file)
{
    public readonly record struct Key(string Kind, string Path, long Size, long ModifiedTicks);

    private readonly Lock _lock = new();
    private Dictionary<string, Dictionary<string, Entry>>? _entries;

    private readonly record struct Entry(long Size, long ModifiedTicks, string Hash);

    public string? TryGet(Key key)
    {
        lock (_lock)
        {
            _entries ??= Load();
            return _entries.TryGetValue(key.Kind, out var kind) && kind.TryGetValue(key.Path, out var entry)
                   && entry.Size == key.Size && entry.ModifiedTicks == key.ModifiedTicks
                ? entry.Hash
                : null;
        }
    }

    public void Store(Key key, string hash)
    {
        lock (_lock)
        {
            _entries = Load(); // pick up what other processes stored meanwhile
            if (!_entries.TryGetValue(key.Kind, out var kind)) _entries[key.Kind] = kind = [];
            kind[key.Path] = new Entry(key.Size, key.ModifiedTicks, hash);
            try
            {
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(file))!);
                AtomicFile.Write(file, Save, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidInputException)
            {
                // A cache we cannot write costs time, not correctness.
            }
        }
    }

    private Dictionary<string, Dictionary<string, Entry>> Load()
    {
        var entries = new Dictionary<string, Dictionary<string, Entry>>();
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var kind in json.RootElement.EnumerateObject())
            {
                var section = entries[kind.Name] = [];
                foreach (var item in kind.Value.EnumerateObject())
                {
                    var v = item.Value;
                    section[item.Name] = new Entry(v.GetProperty("size").GetInt64(), v.GetProperty("mtime").GetInt64(),
                                                   v.GetProperty("hash").GetString() ?? "");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException
                                      or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return []; // missing or damaged: start over
        }
        return entries;
    }

    private void Save(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        foreach (var (kind, section) in _entries!)
        {
            w.WriteStartObject(kind);
            foreach (var (path, entry) in section.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(path);
                w.WriteNumber("size", entry.Size);
                w.WriteNumber("mtime", entry.ModifiedTicks);
                w.WriteString("hash", entry.Hash);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
