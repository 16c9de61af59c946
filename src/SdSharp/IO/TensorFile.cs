namespace SdSharp.IO;

/// <summary>
/// A set of named tensors read from one weights file (safetensors, PyTorch checkpoint). Entries point into
/// memory the file owns (usually a read-only memory mapping); disposing the file releases it, after which
/// the entries can no longer be read.
/// </summary>
public abstract class TensorFile : IDisposable
{
    private Dictionary<string, TensorEntry>? _byName;

    protected TensorFile(string path) => Path = path;

    public string Path { get; }

    /// <summary>A short name of the format: "safetensors", "pytorch-zip", "pytorch-legacy".</summary>
    public abstract string Format { get; }

    /// <summary>Free-form string metadata (safetensors' <c>__metadata__</c>); empty where the format has none.</summary>
    public virtual IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    public abstract IReadOnlyList<TensorEntry> Tensors { get; }

    public bool IsDisposed { get; private set; }

    public TensorEntry? Find(string name)
    {
        _byName ??= Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return _byName.GetValueOrDefault(name);
    }

    /// <summary>
    /// Says the entry's bytes will not be read again soon, so a memory-mapped file's pages can leave the process's
    /// resident memory (see <see cref="MappedFile.DropPages"/>). For tools that stream a model tensor by tensor;
    /// reading the entry again afterwards still works.
    /// </summary>
    public virtual void DropFromMemory(TensorEntry entry) { }

    public void Dispose()
    {
        if (IsDisposed) return;
        IsDisposed = true;
        ReleaseMemory();
        GC.SuppressFinalize(this);
    }

    protected abstract void ReleaseMemory();
}
