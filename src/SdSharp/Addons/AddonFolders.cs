namespace SdSharp.Addons;

/// <summary>
/// Where a model's add-ons are found, as A1111's --lora-dir, --embeddings-dir and --hypernetwork-dir: each is
/// searched with its sub-folders, and a file is named by its file name without extension.
/// </summary>
public sealed record AddonFolders
{
    public string? Loras { get; init; }
    public string? Embeddings { get; init; }
    public string? Hypernetworks { get; init; }

    /// <summary>LoRA files named directly (the CLI's --lora FILE:WEIGHT); they win over a folder's file of the same name.</summary>
    public IReadOnlyList<string> LoraFiles { get; init; } = [];

    /// <summary>
    /// The folders in a models folder laid out like A1111's models/ (Lora, embeddings, hypernetworks): the default
    /// of `sdsharp serve --models DIR` and of the generation commands, whose models folder is the one holding -m.
    /// </summary>
    public static AddonFolders In(string modelsFolder) => new()
    {
        Loras = Path.Combine(modelsFolder, "Lora"),
        Embeddings = Path.Combine(modelsFolder, "embeddings"),
        Hypernetworks = Path.Combine(modelsFolder, "hypernetworks"),
    };
}

/// <summary>The files of one kind in a folder tree, by name (file name without extension), as A1111 lists them.</summary>
public static class AddonFiles
{
    public static readonly string[] LoraExtensions = [".safetensors", ".pt", ".ckpt"];
    public static readonly string[] EmbeddingExtensions = [".pt", ".bin", ".safetensors"];

    /// <summary>Hypernetwork files by name; "None" is A1111's word for no hypernetwork, never a file's name.</summary>
    public static Dictionary<string, string> Hypernetworks(string? folder) =>
        List(folder, [".pt"]).Where(f => f.Key != "None").ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);

    public static Dictionary<string, string> List(string? folder, IReadOnlyCollection<string> extensions, IEnumerable<string>? extra = null)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        if (folder != null && Directory.Exists(folder))
        {
            var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden };
            foreach (string file in Directory.EnumerateFiles(folder, "*", options).Order(StringComparer.Ordinal))
            {
                if (!extensions.Contains(Path.GetExtension(file).ToLowerInvariant())) continue;
                if (new FileInfo(file).Length == 0) continue;
                found.TryAdd(Path.GetFileNameWithoutExtension(file), file);
            }
        }
        foreach (string file in extra ?? []) found[Path.GetFileNameWithoutExtension(file)] = file;
        return found;
    }
}
