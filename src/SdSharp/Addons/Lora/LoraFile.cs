using SdSharp.IO;

namespace SdSharp.Addons.Lora;

/// <summary>
/// A LoRA-family file (kohya's lora_unet_*/lora_te*_ keys, LyCORIS LoHa/LoKr/full, diffusers and PEFT's
/// unet./text_encoder. keys with lora_A/lora_B) read into one <see cref="LoraModule"/> per layer. The file stays
/// open (memory-mapped) until disposed: the modules read their tensors from it.
/// </summary>
public sealed class LoraFile : IDisposable
{
    // Part names as kohya and LyCORIS write them, after the first '.' of a key.
    private static readonly string[] PeftParts =
    [
        // diffusers/PEFT, then older diffusers spellings; each maps to kohya's name
        ".lora_A.weight", ".lora_B.weight", ".lora_A.default.weight", ".lora_B.default.weight",
        ".lora.down.weight", ".lora.up.weight", ".lora_linear_layer.down.weight", ".lora_linear_layer.up.weight",
        "_lora.down.weight", "_lora.up.weight", ".lora_down.weight", ".lora_up.weight", ".lora_mid.weight",
        ".alpha", ".lora_magnitude_vector", ".lora_magnitude_vector.weight", ".dora_scale",
    ];

    private readonly TensorFile _file;

    private LoraFile(string path, TensorFile file, List<LoraModule> modules, List<string> unknown)
    {
        Path = path;
        _file = file;
        Modules = modules;
        UnknownKeys = unknown;
    }

    public string Path { get; }
    public IReadOnlyList<LoraModule> Modules { get; }

    /// <summary>Keys that name no network part we know (neither kohya's prefixes nor diffusers' components).</summary>
    public IReadOnlyList<string> UnknownKeys { get; }

    public IReadOnlyDictionary<string, string> Metadata => _file.Metadata;

    public static LoraFile Open(string path)
    {
        TensorFile file = ModelFiles.OpenFile(path);
        try
        {
            var groups = new Dictionary<(LoraTarget, string), (string Key, Dictionary<string, TensorEntry> Parts)>();
            var order = new List<(LoraTarget, string)>();
            var unknown = new List<string>();
            foreach (TensorEntry entry in file.Tensors)
            {
                if (Parse(entry.Name) is not var (target, module, part))
                {
                    unknown.Add(entry.Name);
                    continue;
                }
                if (!groups.TryGetValue((target, module), out var group))
                {
                    group = (entry.Name[..^(part.Length + 1)], new Dictionary<string, TensorEntry>(StringComparer.Ordinal));
                    groups[(target, module)] = group;
                    order.Add((target, module));
                }
                group.Parts[Canonical(part)] = entry;
            }
            var modules = order.Select(k => new LoraModule(groups[k].Key, k.Item1, k.Item2, groups[k].Parts)).ToList();
            return new LoraFile(path, file, modules, unknown);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Splits a key into the network, the layer name (prefix removed) and the part; null for keys of no network.
    /// kohya: "lora_unet_down_blocks_0_…_to_q.lora_down.weight"; diffusers/PEFT:
    /// "unet.down_blocks.0.….to_q.lora_A.weight", "text_encoder.text_model.….q_proj.lora_B.weight".
    /// </summary>
    internal static (LoraTarget Target, string Module, string Part)? Parse(string key)
    {
        foreach (var (prefix, target) in KohyaPrefixes)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            int dot = key.IndexOf('.');
            if (dot < 0) return null;
            return (target, key[prefix.Length..dot], key[(dot + 1)..]);
        }
        string? partSuffix = PeftParts.FirstOrDefault(p => key.EndsWith(p, StringComparison.Ordinal));
        if (partSuffix == null) return null;
        string module = key[..^partSuffix.Length];
        string part = partSuffix.TrimStart('.', '_');
        // The oldest diffusers files name the attention processor: "….attn1.processor.to_q_lora.down.weight".
        if (partSuffix.StartsWith('_'))
        {
            module = module.Replace(".processor.", ".", StringComparison.Ordinal);
            if (module.EndsWith(".to_out", StringComparison.Ordinal)) module += ".0";
        }
        foreach (var (prefix, target) in DiffusersPrefixes)
            if (module.StartsWith(prefix, StringComparison.Ordinal)) return (target, module[prefix.Length..], part);
        // No component prefix: a bare UNet or text-encoder name.
        if (module.StartsWith("text_model.", StringComparison.Ordinal)) return (LoraTarget.TextEncoder, module, part);
        return (LoraTarget.Unet, module, part);
    }

    private static readonly (string, LoraTarget)[] KohyaPrefixes =
    [
        ("lora_unet_", LoraTarget.Unet), ("lora_te1_", LoraTarget.TextEncoder), ("lora_te2_", LoraTarget.TextEncoder2),
        ("lora_te_", LoraTarget.TextEncoder),
    ];

    private static readonly (string, LoraTarget)[] DiffusersPrefixes =
    [
        ("unet.", LoraTarget.Unet), ("text_encoder_2.", LoraTarget.TextEncoder2), ("text_encoder.", LoraTarget.TextEncoder),
        ("te1.", LoraTarget.TextEncoder), ("te2.", LoraTarget.TextEncoder2), ("model.diffusion_model.", LoraTarget.Unet),
    ];

    /// <summary>One name per part: PEFT's lora_A/lora_B and diffusers' down/up become kohya's lora_down/lora_up.</summary>
    private static string Canonical(string part) => part switch
    {
        "lora_A.weight" or "lora_A.default.weight" or "lora.down.weight" or "lora_linear_layer.down.weight" => "lora_down.weight",
        "lora_B.weight" or "lora_B.default.weight" or "lora.up.weight" or "lora_linear_layer.up.weight" => "lora_up.weight",
        "lora_magnitude_vector" or "lora_magnitude_vector.weight" => "dora_scale",
        _ => part,
    };

    public void Dispose() => _file.Dispose();
}
