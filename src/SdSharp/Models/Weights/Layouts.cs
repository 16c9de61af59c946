using SdSharp.IO;

namespace SdSharp.Models.Weights;

// Every file layout, one table each, mapped onto the canonical names the networks are written against:
// the original (LDM) names for the UNet and VAE, HF transformers' names for CLIP text encoders.

/// <summary>A network stored under a prefix with canonical names (the original single-file layout).</summary>
public sealed class PrefixLayout(string describe, string prefix) : IWeightLayout
{
    public string Describe { get; } = describe;
    public bool Owns(string storedName) => storedName.StartsWith(prefix, StringComparison.Ordinal);

    public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry)
    {
        yield return (entry.Name[prefix.Length..], new StoredWeight(entry));
    }
}

/// <summary>
/// An HF transformers CLIP text model (OpenAI's CLIP in SD 1.x files, every diffusers text encoder).
/// transformers 5 writes the keys without the "text_model." every published file has; both are accepted.
/// </summary>
public sealed class HfClipLayout(string describe, string prefix) : IWeightLayout
{
    public string Describe { get; } = describe;

    public bool Owns(string storedName) =>
        storedName.StartsWith(prefix, StringComparison.Ordinal) && !storedName.EndsWith("position_ids", StringComparison.Ordinal);

    public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry)
    {
        string name = entry.Name[prefix.Length..];
        if (!name.StartsWith("text_model.", StringComparison.Ordinal) && !name.StartsWith("text_projection", StringComparison.Ordinal))
            name = "text_model." + name;
        yield return (name, new StoredWeight(entry));
    }
}

/// <summary>
/// OpenCLIP's text tower (SD 2.x, SDXL's second encoder, the refiner's): fused q/k/v "in_proj", "resblocks",
/// and a text_projection stored for x @ W (transposed relative to a linear layer's weight).
/// </summary>
public sealed class OpenClipLayout(string describe, string prefix) : IWeightLayout
{
    private static readonly (string Stored, string Canonical)[] LayerParts =
    [
        ("ln_1.", "layer_norm1."), ("ln_2.", "layer_norm2."), ("attn.out_proj.", "self_attn.out_proj."),
        ("mlp.c_fc.", "mlp.fc1."), ("mlp.c_proj.", "mlp.fc2."),
    ];

    private static readonly Dictionary<string, string> Fixed = new()
    {
        ["positional_embedding"] = "text_model.embeddings.position_embedding.weight",
        ["token_embedding.weight"] = "text_model.embeddings.token_embedding.weight",
        ["ln_final.weight"] = "text_model.final_layer_norm.weight",
        ["ln_final.bias"] = "text_model.final_layer_norm.bias",
    };

    public string Describe { get; } = describe;

    public bool Owns(string storedName) =>
        storedName.StartsWith(prefix, StringComparison.Ordinal)
        && storedName[prefix.Length..] is not ("logit_scale" or "attn_mask");   // training leftovers, unused

    public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry)
    {
        string name = entry.Name[prefix.Length..];
        if (Fixed.TryGetValue(name, out string? canonical))
        {
            yield return (canonical, new StoredWeight(entry));
            yield break;
        }
        if (name == "text_projection")
        {
            yield return ("text_projection.weight", new StoredWeight(entry, WeightTransform.Transpose));
            yield break;
        }
        const string blocks = "transformer.resblocks.";
        if (!name.StartsWith(blocks, StringComparison.Ordinal)) yield break;
        int dot = name.IndexOf('.', blocks.Length);
        if (dot < 0) yield break;
        string layer = $"text_model.encoder.layers.{name[blocks.Length..dot]}.";
        string part = name[(dot + 1)..];
        if (part is "attn.in_proj_weight" or "attn.in_proj_bias")
        {
            string kind = part.EndsWith("weight", StringComparison.Ordinal) ? "weight" : "bias";
            for (int i = 0; i < 3; i++)
                yield return ($"{layer}self_attn.{"qkv"[i]}_proj.{kind}", new StoredWeight(entry, WeightTransform.RowBlock, i, 3));
            yield break;
        }
        foreach (var (stored, canonicalPart) in LayerParts)
            if (part.StartsWith(stored, StringComparison.Ordinal))
                yield return (layer + canonicalPart + part[stored.Length..], new StoredWeight(entry));
    }
}

/// <summary>
/// diffusers' UNet2DConditionModel names → the original UNetModel names. The block numbering of the original
/// depends on the structure: each level has (layers per block) res blocks plus a down/upsampler.
/// </summary>
public sealed class DiffusersUnetLayout(string prefix, int layersPerBlock, bool[] upLevelHasAttention) : IWeightLayout
{
    private static readonly Dictionary<string, string> Fixed = new()
    {
        ["time_embedding.linear_1"] = "time_embed.0", ["time_embedding.linear_2"] = "time_embed.2",
        ["add_embedding.linear_1"] = "label_emb.0.0", ["add_embedding.linear_2"] = "label_emb.0.2",
        ["conv_in"] = "input_blocks.0.0", ["conv_norm_out"] = "out.0", ["conv_out"] = "out.2",
    };

    private static readonly (string Diffusers, string Original)[] ResnetParts =
    [
        ("norm1.", "in_layers.0."), ("conv1.", "in_layers.2."), ("time_emb_proj.", "emb_layers.1."),
        ("norm2.", "out_layers.0."), ("conv2.", "out_layers.3."), ("conv_shortcut.", "skip_connection."),
    ];

    public string Describe => "unet (diffusers layout)";
    public bool Owns(string storedName) => storedName.StartsWith(prefix, StringComparison.Ordinal);

    public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry)
    {
        string? name = OriginalName(entry.Name[prefix.Length..]);
        if (name != null) yield return (name, new StoredWeight(entry));
    }

    /// <summary>The original name of a diffusers UNet weight ("down_blocks.0.resnets.1.conv1.weight"), or null.</summary>
    public string? OriginalName(string key)
    {
        string[] p = key.Split('.');
        int perLevel = layersPerBlock + 1;
        if (p.Length >= 2 && Fixed.TryGetValue(p[0], out string? head)) return head + "." + Rest(p, 1);
        if (p.Length >= 3 && Fixed.TryGetValue(p[0] + "." + p[1], out head)) return head + "." + Rest(p, 2);
        if (p.Length < 5 || !int.TryParse(p[1], out int level)) return p[0] == "mid_block" ? Mid(p) : null;
        switch (p[0], p[2])
        {
            case ("down_blocks", "downsamplers"):
                return $"input_blocks.{(level + 1) * perLevel}.0.op.{Rest(p, 5)}";
            case ("down_blocks", "resnets"):
                return Resnet($"input_blocks.{1 + level * perLevel + int.Parse(p[3])}.0.", Rest(p, 4));
            case ("down_blocks", "attentions"):
                return $"input_blocks.{1 + level * perLevel + int.Parse(p[3])}.1.{Rest(p, 4)}";
            case ("up_blocks", "upsamplers"):
                if (level >= upLevelHasAttention.Length) return null;
                return $"output_blocks.{level * perLevel + layersPerBlock}.{(upLevelHasAttention[level] ? 2 : 1)}.{Rest(p, 4)}";
            case ("up_blocks", "resnets"):
                return Resnet($"output_blocks.{level * perLevel + int.Parse(p[3])}.0.", Rest(p, 4));
            case ("up_blocks", "attentions"):
                return $"output_blocks.{level * perLevel + int.Parse(p[3])}.1.{Rest(p, 4)}";
            default:
                return null;
        }
    }

    private static string? Mid(string[] p)
    {
        if (p.Length < 5) return null;
        return (p[1], p[2]) switch
        {
            ("resnets", "0") => Resnet("middle_block.0.", Rest(p, 3)),
            ("attentions", "0") => "middle_block.1." + Rest(p, 3),
            ("resnets", "1") => Resnet("middle_block.2.", Rest(p, 3)),
            _ => null,
        };
    }

    private static string Resnet(string block, string part)
    {
        foreach (var (diffusers, original) in ResnetParts)
            if (part.StartsWith(diffusers, StringComparison.Ordinal)) return block + original + part[diffusers.Length..];
        return block + part;
    }

    private static string Rest(string[] parts, int from) => string.Join('.', parts, from, parts.Length - from);
}

/// <summary>
/// diffusers' AutoencoderKL names → the original names. Decoder levels are numbered in reverse in the original;
/// the mid-block attention is a 1×1 convolution there and a linear layer here (the layer reads either).
/// Older diffusers files name the attention query/key/value/proj_attn; both spellings are accepted.
/// </summary>
public sealed class DiffusersVaeLayout(string prefix, int levels) : IWeightLayout
{
    private static readonly (string Diffusers, string Original)[] AttentionParts =
    [
        ("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."), ("to_out.0.", "proj_out."),
        ("query.", "q."), ("key.", "k."), ("value.", "v."), ("proj_attn.", "proj_out."),
    ];

    public string Describe => "vae (diffusers layout)";
    public bool Owns(string storedName) => storedName.StartsWith(prefix, StringComparison.Ordinal);

    public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry)
    {
        string? name = Original(entry.Name[prefix.Length..]);
        if (name != null) yield return (name, new StoredWeight(entry));
    }

    private string? Original(string key)
    {
        string[] p = key.Split('.');
        if (p.Length < 2) return null;
        string coder = p[0];
        string name;
        if (p[1] is "down_blocks" or "up_blocks" && p.Length >= 6 && int.TryParse(p[2], out int level))
        {
            int original = p[1] == "down_blocks" ? level : levels - 1 - level;
            string side = p[1] == "down_blocks" ? "down" : "up";
            name = p[3] switch
            {
                "resnets" => $"{coder}.{side}.{original}.block.{p[4]}.{Rest(p, 5)}",
                "downsamplers" => $"{coder}.down.{original}.downsample.{Rest(p, 5)}",
                "upsamplers" => $"{coder}.up.{original}.upsample.{Rest(p, 5)}",
                _ => "",
            };
            if (name.Length == 0) return null;
        }
        else if (p[1] == "mid_block" && p.Length >= 5)
        {
            string part = Rest(p, 4);
            if (p[2] == "resnets") name = $"{coder}.mid.block_{int.Parse(p[3]) + 1}.{part}";
            else if (p[2] == "attentions")
            {
                foreach (var (diffusers, originalPart) in AttentionParts)
                    if (part.StartsWith(diffusers, StringComparison.Ordinal)) return $"{coder}.mid.attn_1.{originalPart}{part[diffusers.Length..]}";
                return null;
            }
            else return null;
        }
        else name = key;
        return name.Replace("conv_norm_out", "norm_out").Replace("conv_shortcut", "nin_shortcut");
    }

    private static string Rest(string[] parts, int from) => string.Join('.', parts, from, parts.Length - from);
}
