using System.Text.Json;

namespace SdSharp.IO;

/// <summary>
/// Weights split over several files (shards) by diffusers or transformers, seen as one tensor file. The index
/// (<c>*.safetensors.index.json</c>, <c>pytorch_model.bin.index.json</c>) maps each tensor name to its shard in
/// <c>weight_map</c>. Every shard is opened (and mapped) and owned by this view.
/// </summary>
public sealed unsafe class ShardedTensorFile : TensorFile
{
    private readonly TensorFile[] _shards;

    private ShardedTensorFile(string indexPath, TensorFile[] shards, Dictionary<string, string> metadata) : base(indexPath)
    {
        _shards = shards;
        Metadata = metadata;
        Tensors = shards.SelectMany(s => s.Tensors).Select(t => new TensorEntry(this, t.Name, t.Type, t.Shape, t.Pointer)).ToArray();
    }

    public IReadOnlyList<TensorFile> Shards => _shards;

    /// <summary>The shards' format ("safetensors", "pytorch-zip").</summary>
    public override string Format => _shards.Length > 0 ? _shards[0].Format : "safetensors";

    public override IReadOnlyList<TensorEntry> Tensors { get; }

    /// <summary>The index's "metadata" (e.g. total_size), as invariant strings.</summary>
    public override IReadOnlyDictionary<string, string> Metadata { get; }

    public static ShardedTensorFile Open(string indexPath)
    {
        JsonConfig index = JsonConfig.Load(indexPath);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        if (!index.TryGet("weight_map", out JsonElement map) || map.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{indexPath}: no weight_map object");

        var shardOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (JsonProperty entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException($"{indexPath}: weight_map entry {FormatErrors.Quote(entry.Name)} is not a file name");
            string file = entry.Value.GetString()!;
            // Shards live beside the index; a name reaching elsewhere is corrupt or hostile.
            if (file.Length == 0 || file != System.IO.Path.GetFileName(file) || file is "." or "..")
                throw new ModelFormatException($"{indexPath}: shard {FormatErrors.Quote(file)} is not a file name in the same folder");
            shardOf[entry.Name] = file;
            if (!files.Contains(file)) files.Add(file);
        }

        var shards = new List<TensorFile>();
        try
        {
            foreach (string file in files)
            {
                string path = System.IO.Path.Combine(folder, file);
                if (!File.Exists(path)) throw new ModelFormatException($"{indexPath}: shard {file} is missing");
                shards.Add(ModelFiles.OpenFile(path));
            }
            Check(indexPath, shards, files, shardOf);
            return new ShardedTensorFile(indexPath, [.. shards], IndexMetadata(index));
        }
        catch
        {
            foreach (TensorFile shard in shards) shard.Dispose();
            throw;
        }
    }

    /// <summary>Every indexed tensor is in its shard, and no tensor is in two shards.</summary>
    private static void Check(string indexPath, List<TensorFile> shards, List<string> files, Dictionary<string, string> shardOf)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
            foreach (TensorEntry t in shards[i].Tensors)
                if (!seen.TryAdd(t.Name, files[i]))
                    throw new ModelFormatException($"{indexPath}: tensor {FormatErrors.Quote(t.Name)} is in both {seen[t.Name]} and {files[i]}");
        foreach (var (name, file) in shardOf)
            if (!seen.TryGetValue(name, out string? actual) || actual != file)
                throw new ModelFormatException($"{indexPath}: tensor {FormatErrors.Quote(name)} is not in shard {file}");
    }

    private static Dictionary<string, string> IndexMetadata(JsonConfig index)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (index.TryGet("metadata", out JsonElement m) && m.ValueKind == JsonValueKind.Object)
            foreach (JsonProperty p in m.EnumerateObject())
                metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        return metadata;
    }

    protected override void ReleaseMemory()
    {
        foreach (TensorFile shard in _shards) shard.Dispose();
    }
}
