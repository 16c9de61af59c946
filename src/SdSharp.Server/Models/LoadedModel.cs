using System.Diagnostics;
using SdSharp.Generation;
using SdSharp.Tensors;

namespace SdSharp.Server.Models;

/// <summary>
/// The one checkpoint in memory and its generator. Only the queue's worker thread loads and uses it, so a
/// switch never happens under a running generation; readers elsewhere only look at <see cref="Entry"/>.
/// </summary>
public sealed class LoadedModel(IBackend backend, TextWriter log) : IDisposable
{
    private volatile CheckpointEntry? _entry;
    private StableDiffusionModel? _model;

    public IBackend Backend => backend;

    /// <summary>The checkpoint loaded now; null before the first load.</summary>
    public CheckpointEntry? Entry => _entry;

    public Generator? Generator { get; private set; }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _nativeSizes = new();

    /// <summary>
    /// The size a checkpoint was trained at, for the web UI's defaults: known once it has been loaded, or read
    /// from a diffusers folder's UNet config; null otherwise.
    /// </summary>
    public int? NativeSizeOf(CheckpointEntry entry)
    {
        if (_nativeSizes.TryGetValue(entry.Path, out int known)) return known;
        string config = System.IO.Path.Combine(entry.Path, "unet", "config.json");
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(config));
            return json.RootElement.TryGetProperty("sample_size", out var sample) && sample.TryGetInt32(out int size) && size > 0 ? size * 8 : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
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
        _model = StableDiffusionModel.Load(entry.Path, backend);
        Generator = new Generator(_model) { ModelIdentity = (entry.NameForExtra, entry.ShortHash) };
        _nativeSizes[entry.Path] = Models.NativeSize.Of(_model);
        _entry = entry;
        log.WriteLine($"sdsharp serve: loaded {entry.Title} on {backend.Name} in {watch.Elapsed.TotalSeconds:F1} s");
        return Generator;
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
        backend.Dispose();
    }
}
