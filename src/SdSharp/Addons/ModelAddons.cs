using System.Globalization;
using SdSharp.Addons.Lora;
using SdSharp.Generation;
using SdSharp.Generation.Infotext;
using SdSharp.IO;
using SdSharp.Models.Unet;
using SdSharp.Text.Prompts;

namespace SdSharp.Addons;

/// <summary>
/// A loaded model's add-ons: LoRAs and hypernetworks activated per generation by the prompt's
/// <c>&lt;lora:…&gt;</c> and <c>&lt;hypernet:…&gt;</c> tags, and its textual-inversion embeddings. One model, one
/// generation at a time: an activation changes what the model computes until it is disposed.
/// </summary>
public sealed class ModelAddons
{
    private readonly StableDiffusionModel _model;
    private readonly ModelHashes _hashes;

    public ModelAddons(StableDiffusionModel model, AddonFolders folders, ModelHashes? hashes = null)
    {
        _model = model;
        Folders = folders;
        _hashes = hashes ?? ModelHashes.Default;
    }

    public AddonFolders Folders { get; }

    private Embeddings.EmbeddingDatabase? _embeddings;

    /// <summary>The embeddings of the embeddings folder that fit this model (read on first use; see <see cref="RefreshEmbeddings"/>).</summary>
    public Embeddings.EmbeddingDatabase Embeddings => _embeddings ??= LoadEmbeddings();

    /// <summary>Reads the embeddings folder again (A1111's refresh-embeddings).</summary>
    public void RefreshEmbeddings() => _embeddings = LoadEmbeddings();

    private Embeddings.EmbeddingDatabase LoadEmbeddings()
    {
        if (Folders.Embeddings == null) return SdSharp.Addons.Embeddings.EmbeddingDatabase.Empty;
        // A1111's expected shape: the width of the conditioning ("," encoded), both encoders' for SDXL.
        int width = (_model.TextEncoder?.Config.HiddenSize ?? 0) + (_model.Family == Models.ModelFamily.SD2 ? 0 : _model.TextEncoder2?.Config.HiddenSize ?? 0);
        return SdSharp.Addons.Embeddings.EmbeddingDatabase.Load(Folders.Embeddings, _model.Tokenizer, width);
    }

    /// <summary>"TI hashes" entries: each embedding's name and the first 12 hex digits of its file's SHA-256.</summary>
    public IReadOnlyList<NetworkHash> EmbeddingHashes(IReadOnlyList<Embeddings.TextualInversionEmbedding> used) =>
        [.. used.Select(e => new NetworkHash(e.Name, _hashes.Sha256(e.FilePath)[..12]))];

    /// <summary>LoRA files by name (file name without extension).</summary>
    public IReadOnlyDictionary<string, string> LoraFiles() => AddonFiles.List(Folders.Loras, AddonFiles.LoraExtensions, Folders.LoraFiles);

    /// <summary>
    /// Applies the LoRAs (and hypernetworks) the tags name; unknown names and keys that match nothing are added to
    /// <paramref name="warnings"/>. Dispose the result to give the model its own weights back.
    /// </summary>
    public AddonActivation Activate(IReadOnlyList<ExtraNetworkTag> tags, ICollection<string> warnings)
    {
        var activation = new AddonActivation();
        try
        {
            ActivateLoras(tags.Where(t => t.Kind == "lora").ToList(), activation, warnings);
            ActivateHypernetworks(tags.Where(t => t.Kind == "hypernet").ToList(), activation, warnings);
            return activation;
        }
        catch
        {
            activation.Dispose();
            throw;
        }
    }

    private void ActivateLoras(List<ExtraNetworkTag> loraTags, AddonActivation activation, ICollection<string> warnings)
    {
        if (loraTags.Count == 0) return;
        IReadOnlyDictionary<string, string> files = LoraFiles();
        var uses = new List<LoraUse>();
        var hashes = new List<NetworkHash>();
        var opened = new List<LoraFile>();
        var missing = new List<string>();
        try
        {
            foreach (ExtraNetworkTag tag in loraTags)
            {
                if (tag.Positional.Count == 0) continue;
                string name = tag.Positional[0];
                string? path = files.GetValueOrDefault(name) ?? FindByAlias(files, name);
                if (path == null)
                {
                    missing.Add(name);
                    continue;
                }
                var (te, unet) = Multipliers(tag);
                LoraFile file = LoraFile.Open(path);
                opened.Add(file);
                uses.Add(new LoraUse(file, name, te, unet));
                hashes.Add(new NetworkHash(name, LoraHash(path, file)));
            }
            if (missing.Count > 0) warnings.Add("Lora not found: " + string.Join(", ", missing));
            activation.Loras = hashes;
            activation.Own(LoraApplier.Apply(_model.Backend, Targets(), uses, warnings));
        }
        finally
        {
            // The merged copies hold everything they need; the LoRA files can go.
            opened.ForEach(f => f.Dispose());
        }
    }

    /// <summary>Hypernetwork files (.pt) by name, as A1111 lists them (a file called "None" is not one).</summary>
    public IReadOnlyDictionary<string, string> HypernetworkFiles() => AddonFiles.Hypernetworks(Folders.Hypernetworks);

    /// <summary>
    /// A1111's extra network "hypernet": &lt;hypernet:name:multiplier&gt; (multiplier 1 by default) runs the named
    /// hypernetworks, in the prompt's order, on every attention context of a width they have modules for.
    /// </summary>
    private void ActivateHypernetworks(List<ExtraNetworkTag> tags, AddonActivation activation, ICollection<string> warnings)
    {
        if (tags.Count == 0) return;
        IReadOnlyDictionary<string, string> files = HypernetworkFiles();
        var transforms = new List<IContextTransform>();
        var missing = new List<string>();
        AttentionContext attention = _model.Unet.Attention;
        IReadOnlyList<IContextTransform> before = attention.Transforms;
        var widths = AttentionWidths();
        foreach (ExtraNetworkTag tag in tags)
        {
            if (tag.Positional.Count == 0) continue;
            string name = tag.Positional[0];
            if (!files.TryGetValue(name, out string? path))
            {
                missing.Add(name);
                continue;
            }
            float multiplier = tag.Positional.Count > 1 ? Number(tag, tag.Positional[1]) : 1f;
            var file = Hypernetworks.HypernetworkFile.Open(path);
            activation.Own(file);
            var transform = new Hypernetworks.HypernetworkTransform(_model.Backend, file, multiplier);
            activation.Own(transform);
            if (!transform.Widths.Any(widths.Contains))
                warnings.Add($"Hypernetwork {name} has modules for widths {string.Join(", ", transform.Widths.Order())}, none of this model's attention widths ({string.Join(", ", widths.Order())})");
            transforms.Add(transform);
        }
        if (missing.Count > 0) warnings.Add("Hypernetwork not found: " + string.Join(", ", missing));
        attention.Transforms = [.. before, .. transforms];
        // Owned last, so disposing puts the model back before the hypernetworks' weights are freed.
        activation.Own(new Restore(() => attention.Transforms = before));
    }

    /// <summary>The context widths the UNet's attention layers see: the text's, and the image tokens' of each level with attention.</summary>
    private HashSet<int> AttentionWidths()
    {
        var c = _model.Unet.Config;
        var widths = new HashSet<int> { c.ContextDim };
        for (int i = 0; i < c.Levels; i++)
            if (c.TransformerDepth[i] > 0) widths.Add(c.LevelChannels[i]);
        if (c.MiddleTransformerDepth > 0) widths.Add(c.LevelChannels[^1]);
        return widths;
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    /// <summary>A1111's &lt;lora:name:te:unet&gt; with te= and unet= named forms; unet defaults to te, te to 1.</summary>
    private static (float Te, float Unet) Multipliers(ExtraNetworkTag tag)
    {
        float te = tag.Positional.Count > 1 ? Number(tag, tag.Positional[1]) : 1f;
        if (tag.Named.TryGetValue("te", out string? named)) te = Number(tag, named);
        float unet = tag.Positional.Count > 2 ? Number(tag, tag.Positional[2]) : te;
        if (tag.Named.TryGetValue("unet", out named)) unet = Number(tag, named);
        return (te, unet);
    }

    private static float Number(ExtraNetworkTag tag, string text)
    {
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
            throw new InvalidInputException($"{tag}: \"{text}\" is not a number");
        return value;
    }

    /// <summary>A1111 also finds a LoRA by the name it was trained under (kohya's ss_output_name metadata).</summary>
    private static string? FindByAlias(IReadOnlyDictionary<string, string> files, string name)
    {
        foreach (string path in files.Values)
        {
            if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) continue;
            try
            {
                using var file = SafetensorsFile.Open(path);
                if (file.Metadata.TryGetValue("ss_output_name", out string? alias) && alias == name) return path;
            }
            catch (ModelFormatException)
            {
                // not a readable safetensors file: not this one
            }
        }
        return null;
    }

    /// <summary>A1111's LoRA short hash: kohya's sshs_model_hash when the file has one, else the addnet hash (safetensors) or sha256, 12 digits.</summary>
    private string LoraHash(string path, LoraFile file)
    {
        if (file.Metadata.TryGetValue("sshs_model_hash", out string? stored) && stored.Length >= 12) return stored[..12];
        string full = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? _hashes.AddNetSha256(path) : _hashes.Sha256(path);
        return full[..12];
    }

    private LoraTargets Targets()
    {
        var c = _model.Checkpoint;
        bool[] upHasAttention = c.UnetConfig.TransformerDepth.Reverse().Select(d => d > 0).ToArray();
        return new LoraTargets(
            _model.Unet.WeightSlots, c.Unet.Names, new UNetConfigShape(c.UnetConfig.ResBlocksPerLevel, upHasAttention),
            _model.TextEncoder?.WeightSlots, c.TextEncoder?.Names,
            _model.TextEncoder2?.WeightSlots, c.TextEncoder2?.Names);
    }
}

/// <summary>The add-ons one generation runs with; disposing restores the model.</summary>
public sealed class AddonActivation : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    /// <summary>The LoRAs applied, as the infotext's "Lora hashes" names them.</summary>
    public IReadOnlyList<NetworkHash> Loras { get; internal set; } = [];

    internal void Own(IDisposable resource) => _owned.Add(resource);

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
