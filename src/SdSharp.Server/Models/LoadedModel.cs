using System.Diagnostics;
using SdSharp.Addons;
using SdSharp.Generation;
using SdSharp.Tensors;

namespace SdSharp.Server.Models;

/// <summary>
/// The checkpoint in memory and its generator, plus the refiner the last request named. Only the queue's worker
/// thread loads and uses them, so a switch never happens under a running generation; readers elsewhere only
/// look at <see cref="Entry"/> and <see cref="Model"/>.
/// </summary>
public sealed class LoadedModel(IBackend backend, AddonFolders addons, ModelCatalog catalog, TextWriter log) : IDisposable
{
    private volatile CheckpointEntry? _entry;
    private volatile StableDiffusionModel? _model;
    private CheckpointEntry? _refinerEntry;
    private StableDiffusionModel? _refiner;

    public IBackend Backend => backend;

    /// <summary>The checkpoint loaded now; null before the first load.</summary>
    public CheckpointEntry? Entry => _entry;

    public Generator? Generator { get; private set; }

    /// <summary>The loaded model, for what the endpoints report about it (its embeddings); null before the first load.</summary>
    public StableDiffusionModel? Model => _model;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _nativeSizes = new();

    /// <summary>
    /// The size a checkpoint was trained at, for the web UI's defaults: known once it has been loaded, or read
    /// from a diffusers folder's UNet config; null otherwise.
    /// </summary>
    public int? NativeSizeOf(CheckpointEntry entry)
    {
        if (_nativeSizes.TryGetValue(entry.Path, out int known)) return known;
        try
        {
            // The rule StableDiffusionModel.NativeSize applies to a loaded diffusers folder, read without loading it.
            int sample = IO.JsonConfig.Load(System.IO.Path.Combine(entry.Path, "unet", "config.json")).GetInt("sample_size", 0);
            return sample > 0 ? sample * 8 : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IO.ModelFormatException)
        {
            return null;
        }
    }

    /// <summary>Loads <paramref name="entry"/> in place of the current model (nothing happens when it is loaded already).</summary>
    public Generator Load(CheckpointEntry entry)
    {
        if (_entry?.Path == entry.Path && Generator != null) return Generator;
        Unload();
        var watch = Stopwatch.StartNew();
        _model = Open(entry);
        Generator = new Generator(_model) { ModelIdentity = (entry.NameForExtra, entry.ShortHash), Refiners = Refiner };
        _nativeSizes[entry.Path] = _model.NativeSize;
        _entry = entry;
        log.WriteLine($"sdsharp serve: loaded {entry.Title} on {backend.Name} in {watch.Elapsed.TotalSeconds:F1} s");
        return Generator;
    }

    private StableDiffusionModel Open(CheckpointEntry entry) => StableDiffusionModel.Load(entry.Path, backend, new ModelLoadOptions { Addons = addons });

    /// <summary>
    /// The refiner a request names (a checkpoint-list name, checked by the request mapper). It stays loaded beside
    /// the base model until another one is asked for; the base model's own checkpoint is the base model (which the
    /// generator then does not hand off to).
    /// </summary>
    private RefinerModel Refiner(string name)
    {
        var entry = catalog.Find(name) ?? throw new InvalidInputException($"refiner_checkpoint {name}: no such checkpoint");
        if (entry.Path == _entry?.Path) return new RefinerModel(_model!, entry.Title);
        if (_refinerEntry?.Path != entry.Path)
        {
            _refiner?.Dispose();
            _refiner = null;
            _refinerEntry = null;
            var watch = Stopwatch.StartNew();
            _refiner = Open(entry);
            _refinerEntry = entry;
            log.WriteLine($"sdsharp serve: loaded refiner {entry.Title} on {backend.Name} in {watch.Elapsed.TotalSeconds:F1} s");
        }
        return new RefinerModel(_refiner!, entry.Title);
    }

    private void Unload()
    {
        _entry = null;
        Generator = null;
        _model?.Dispose();
        _model = null;
    }

    public void Dispose()
    {
        Unload();
        _refiner?.Dispose();
        backend.Dispose();
    }
}
