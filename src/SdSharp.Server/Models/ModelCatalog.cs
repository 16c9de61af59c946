using SdSharp.Generation.Infotext;

namespace SdSharp.Server.Models;

/// <summary>One checkpoint the server can load, named the way A1111 names it.</summary>
/// <param name="Name">Path relative to the models folder ("sub/x.safetensors"); the bundled model's folder name.</param>
/// <param name="Path">Full path of the file or diffusers folder.</param>
/// <param name="Sha256">Full SHA-256 of the file; null for folders and files not hashed yet.</param>
public sealed record CheckpointEntry(string Name, string Path, string? Sha256)
{
    /// <summary>A1111's "Model hash": the first 10 hex digits.</summary>
    public string? ShortHash => Sha256?[..10];

    /// <summary>"x.safetensors [0123456789]", or the bare name while no hash is known.</summary>
    public string Title => ShortHash == null ? Name : $"{Name} [{ShortHash}]";

    /// <summary>A1111's model_name: the name without extension, folders joined with '_'.</summary>
    public string ModelName => System.IO.Path.ChangeExtension(Name.Replace('/', '_').Replace('\\', '_'), null);

    /// <summary>What the infotext calls it: the file name without extension (A1111's name_for_extra).</summary>
    public string NameForExtra => ModelHashes.ModelName(Path);

    /// <summary>Every name A1111 lets a client pick this checkpoint by (its checkpoint_aliases).</summary>
    public IEnumerable<string> Aliases()
    {
        yield return Title;
        yield return Name;
        yield return ModelName;
        yield return NameForExtra;
        if (ShortHash != null)
        {
            yield return ShortHash;
            yield return Sha256!;
            yield return $"{ModelName} [{ShortHash}]";
        }
    }
}

/// <summary>
/// The checkpoints on offer: the bundled model and every .safetensors/.ckpt file (and diffusers folder) under
/// the models folder, LoRA and embedding folders excepted. Clients choose among these by name only; a name is
/// never turned into a path, so no request reaches a file outside this list.
/// </summary>
public sealed class ModelCatalog(string? bundledModel, string? modelsFolder, IReadOnlyList<string> excludedFolders, ModelHashes hashes)
{
    private static readonly string[] CheckpointExtensions = [".safetensors", ".ckpt"];
    private readonly Lock _gate = new();
    private readonly HashSet<string> _excluded = excludedFolders.Select(System.IO.Path.GetFullPath).Select(System.IO.Path.TrimEndingDirectorySeparator).ToHashSet();
    private IReadOnlyList<CheckpointEntry> _entries = [];

    public IReadOnlyList<CheckpointEntry> Entries
    {
        get { lock (_gate) return _entries; }
    }

    /// <summary>Rescans the folder. Files are hashed here (the hash cache makes repeated scans cheap).</summary>
    public void Refresh()
    {
        var found = new List<CheckpointEntry>();
        if (bundledModel != null && Directory.Exists(bundledModel))
            found.Add(new CheckpointEntry(System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(bundledModel)), System.IO.Path.GetFullPath(bundledModel), null));
        if (modelsFolder != null && Directory.Exists(modelsFolder))
            Scan(System.IO.Path.GetFullPath(modelsFolder), System.IO.Path.GetFullPath(modelsFolder), found);
        lock (_gate) _entries = found;
    }

    private void Scan(string root, string folder, List<CheckpointEntry> found)
    {
        IEnumerable<string> files;
        IEnumerable<string> folders;
        try
        {
            files = Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).ToList();
            folders = Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // an unreadable folder holds nothing we could load
        }
        foreach (string file in files)
            if (CheckpointExtensions.Contains(System.IO.Path.GetExtension(file).ToLowerInvariant()))
                found.Add(new CheckpointEntry(Relative(root, file), file, TryHash(file)));
        foreach (string sub in folders)
        {
            if (_excluded.Contains(sub)) continue;
            if (File.Exists(System.IO.Path.Combine(sub, IO.DiffusersFolder.ModelIndexName))) found.Add(new CheckpointEntry(Relative(root, sub), sub, null));
            else Scan(root, sub, found);
        }
    }

    private string? TryHash(string file)
    {
        try
        {
            return hashes.Sha256(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidInputException)
        {
            return null;
        }
    }

    private static string Relative(string root, string path) => System.IO.Path.GetRelativePath(root, path).Replace('\\', '/');

    /// <summary>The checkpoint a client named (title, file name, model name or hash), or null.</summary>
    public CheckpointEntry? Find(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        string wanted = name.Trim();
        var entries = Entries;
        return entries.FirstOrDefault(e => e.Title == wanted)
            ?? entries.FirstOrDefault(e => e.Aliases().Contains(wanted, StringComparer.Ordinal));
    }
}
