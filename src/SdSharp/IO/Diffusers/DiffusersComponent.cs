namespace SdSharp.IO;

/// <summary>
/// One component of a diffusers folder (unet, vae, text_encoder, scheduler, tokenizer, ...): its folder, its
/// config, and for models its weights. Weights are found by diffusers' own naming rules, preferring the
/// folder's variant ("diffusion_pytorch_model.fp16.safetensors") and falling back to the default files.
/// </summary>
public sealed class DiffusersComponent
{
    private static readonly string[] WeightNames = ["diffusion_pytorch_model", "model", "pytorch_model"];

    private readonly DiffusersFolder _folder;
    private JsonConfig? _config;
    private TensorFile? _weights;

    internal DiffusersComponent(DiffusersFolder folder, string name, string library, string className)
    {
        _folder = folder;
        Name = name;
        Library = library;
        ClassName = className;
        Directory = System.IO.Path.Combine(folder.Path, name);
    }

    public string Name { get; }

    /// <summary>"diffusers" or "transformers" (the Python library the class comes from).</summary>
    public string Library { get; }

    /// <summary>"UNet2DConditionModel", "AutoencoderKL", "CLIPTextModel", "PNDMScheduler", ...</summary>
    public string ClassName { get; }

    public string Directory { get; }

    public bool Exists => System.IO.Directory.Exists(Directory);

    /// <summary>Models have a config.json (schedulers, tokenizers and feature extractors have other configs).</summary>
    public bool ExpectsWeights => File.Exists(System.IO.Path.Combine(Directory, "config.json"));

    /// <summary>The component's config.json, or scheduler_config.json for a scheduler.</summary>
    public JsonConfig Config => _config ??= JsonConfig.Load(FilePath(
        File.Exists(System.IO.Path.Combine(Directory, "config.json")) || !File.Exists(System.IO.Path.Combine(Directory, "scheduler_config.json"))
            ? "config.json" : "scheduler_config.json"));

    /// <summary>The weights file (or shard index) that will be loaded, or null when the folder has none.</summary>
    public string? WeightsPath => Exists ? FindWeights(Directory, _folder.Variant) : null;

    public bool HasWeights => WeightsPath != null;

    /// <summary>The component's weights, opened once and owned by the folder.</summary>
    public TensorFile Weights
    {
        get
        {
            ObjectDisposedException.ThrowIf(_folder.IsDisposed, _folder);
            if (_weights != null) return _weights;
            string path = WeightsPath ?? throw new ModelFormatException(
                $"{Directory}: no weights for component {FormatErrors.Quote(Name)} (looked for diffusion_pytorch_model{VariantHint}.safetensors, " +
                $"model{VariantHint}.safetensors, *.bin and sharded *.index.json)");
            _weights = path.EndsWith(".json", StringComparison.Ordinal) ? ShardedTensorFile.Open(path) : ModelFiles.OpenFile(path);
            return _weights;
        }
    }

    /// <summary>A file of the component (tokenizer vocab.json, merges.txt), which must exist.</summary>
    public string FilePath(string fileName)
    {
        if (!Exists) throw new ModelFormatException($"{_folder.Path}: component {FormatErrors.Quote(Name)} is listed in {DiffusersFolder.ModelIndexName} but has no folder");
        string path = System.IO.Path.Combine(Directory, fileName);
        return File.Exists(path) ? path : throw new ModelFormatException($"{Directory}: component {FormatErrors.Quote(Name)} has no {fileName}");
    }

    internal void ReleaseWeights()
    {
        _weights?.Dispose();
        _weights = null;
    }

    private string VariantHint => _folder.Variant == null ? "" : $"[.{_folder.Variant}]";

    /// <summary>
    /// Diffusers' order: the variant's safetensors, its shard index, its .bin and .bin index; then the same
    /// without the variant; last, a folder's only .safetensors or .bin file whatever its name.
    /// </summary>
    internal static string? FindWeights(string directory, string? variant)
    {
        foreach (string? v in variant == null ? [null] : new[] { variant, null })
        {
            string infix = v == null ? "" : "." + v;
            foreach (string pattern in new[] { "{0}{1}.safetensors", "{0}.safetensors.index{1}.json", "{0}{1}.bin", "{0}.bin.index{1}.json" })
                foreach (string name in WeightNames)
                {
                    string path = System.IO.Path.Combine(directory, string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, name, infix));
                    if (File.Exists(path)) return path;
                }
        }
        foreach (string extension in new[] { "*.safetensors", "*.bin" })
        {
            string[] files = System.IO.Directory.GetFiles(directory, extension);
            if (files.Length == 1) return files[0];
        }
        return null;
    }
}
