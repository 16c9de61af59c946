using System.Text.Json;

namespace SdSharp.IO;

/// <summary>
/// A diffusers model folder: <c>model_index.json</c> maps each component (unet, vae, text_encoder, scheduler, ...)
/// to its [library, class], and each component has its own folder with a config and weights. As a
/// <see cref="TensorFile"/> it shows every component's tensors prefixed with the component name
/// ("unet.conv_in.weight"); loaders use <see cref="Component"/> for configs and per-component weights.
/// </summary>
public sealed class DiffusersFolder : TensorFile
{
    public const string ModelIndexName = "model_index.json";

    private readonly List<DiffusersComponent> _components = [];
    private IReadOnlyList<TensorEntry>? _tensors;

    private DiffusersFolder(string path, string? variant, JsonConfig modelIndex) : base(path)
    {
        Variant = variant;
        ModelIndex = modelIndex;
    }

    public override string Format => "diffusers";

    /// <summary>The weights variant asked for ("fp16"), or null; components without it fall back to the default weights.</summary>
    public string? Variant { get; }

    public JsonConfig ModelIndex { get; }

    /// <summary>The pipeline class ("StableDiffusionPipeline", "StableDiffusionXLPipeline"), if given.</summary>
    public string? PipelineClass => ModelIndex.GetString("_class_name", null);

    /// <summary>The components model_index.json lists with a library and class (absent ones, [null, null], are left out).</summary>
    public IReadOnlyList<DiffusersComponent> Components => _components;

    public static DiffusersFolder Open(string directory, string? variant = null)
    {
        if (variant != null && (variant.Length == 0 || !variant.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
            throw new InvalidInputException($"weights variant {FormatErrors.Quote(variant)} is not a plain name such as fp16");
        if (!Directory.Exists(directory)) throw new InvalidInputException($"{directory}: folder not found");
        string indexPath = System.IO.Path.Combine(directory, ModelIndexName);
        if (!File.Exists(indexPath)) throw new ModelFormatException($"{directory}: a folder without {ModelIndexName}, so not a diffusers model");
        JsonConfig index = JsonConfig.Load(indexPath);

        var folder = new DiffusersFolder(directory, variant, index);
        foreach (JsonProperty entry in index.Root.EnumerateObject())
        {
            if (entry.Name.StartsWith('_')) continue; // _class_name, _diffusers_version
            if (entry.Value.ValueKind != JsonValueKind.Array || entry.Value.GetArrayLength() != 2) continue;
            JsonElement library = entry.Value[0], className = entry.Value[1];
            if (library.ValueKind == JsonValueKind.Null || className.ValueKind == JsonValueKind.Null) continue;
            if (library.ValueKind != JsonValueKind.String || className.ValueKind != JsonValueKind.String)
                throw new ModelFormatException($"{indexPath}: component {FormatErrors.Quote(entry.Name)} is not [library, class]");
            if (entry.Name != System.IO.Path.GetFileName(entry.Name) || entry.Name is "." or "..")
                throw new ModelFormatException($"{indexPath}: component name {FormatErrors.Quote(entry.Name)} is not a folder name");
            folder._components.Add(new DiffusersComponent(folder, entry.Name, library.GetString()!, className.GetString()!));
        }
        return folder;
    }

    public bool HasComponent(string name) => _components.Exists(c => c.Name == name);

    public DiffusersComponent Component(string name) =>
        _components.Find(c => c.Name == name)
        ?? throw new ModelFormatException($"{Path}: {ModelIndexName} lists no component {FormatErrors.Quote(name)}");

    /// <summary>Every component's tensors, named "component.tensor"; opening them maps each weights file.</summary>
    public override unsafe IReadOnlyList<TensorEntry> Tensors => _tensors ??= Components
        .Where(c => c.HasWeights || c.ExpectsWeights)
        .SelectMany(c => c.Weights.Tensors.Select(t => new TensorEntry(this, c.Name + "." + t.Name, t.Type, t.Shape, t.Pointer)))
        .ToArray();

    protected override void ReleaseMemory()
    {
        foreach (DiffusersComponent c in Components) c.ReleaseWeights();
    }
}
