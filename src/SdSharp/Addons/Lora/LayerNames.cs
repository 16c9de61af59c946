using System.Text.RegularExpressions;
using SdSharp.Models.Weights;

namespace SdSharp.Addons.Lora;

/// <summary>
/// Finds the layer a LoRA key means among one network's layers, whatever naming the file uses: the canonical
/// names dotted or flattened with '_' (kohya's SDXL files and text encoders: "input_blocks_4_1_…", "text_model_…"),
/// or, for the UNet, diffusers' names dotted or flattened ("down_blocks_1_attentions_0_…"), mapped through the
/// model's own block structure (A1111 hard-codes SD 1.x's; this also fits SDXL's).
/// </summary>
internal sealed partial class LayerNames
{
    private readonly HashSet<string> _layers;
    private readonly Dictionary<string, string> _flat = new(StringComparer.Ordinal);
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly DiffusersUnetLayout? _diffusers;

    /// <param name="layers">Canonical names of the patchable layers ("…attn1.to_q", their weights being "….weight").</param>
    /// <param name="allWeights">Every canonical weight the file holds for the network, used or not (SD 2 skips OpenCLIP's last block).</param>
    /// <param name="diffusers">For the UNet: the diffusers→original mapping of its structure.</param>
    public LayerNames(IEnumerable<string> layers, IEnumerable<string> allWeights, DiffusersUnetLayout? diffusers)
    {
        _layers = new HashSet<string>(layers, StringComparer.Ordinal);
        foreach (string layer in _layers) _flat[layer.Replace('.', '_')] = layer;
        foreach (string weight in allWeights)
        {
            int dot = weight.LastIndexOf('.');
            if (dot <= 0) continue;
            _known.Add(weight[..dot]);
            _known.Add(weight[..dot].Replace('.', '_'));
        }
        _diffusers = diffusers;
    }

    /// <summary>The canonical layer name, or null; <paramref name="unused"/> tells a layer the file has but the model does not run.</summary>
    public string? Resolve(string module, out bool unused)
    {
        unused = false;
        string? found = Direct(module) ?? Direct("text_model." + module) ?? FromDiffusers(module);
        if (found != null) return found;
        unused = _known.Contains(module) || _known.Contains("text_model." + module) || _known.Contains("text_model_" + module);
        return null;
    }

    private string? Direct(string name) =>
        _layers.Contains(name) ? name : _flat.GetValueOrDefault(name);

    private string? FromDiffusers(string module)
    {
        if (_diffusers == null) return null;
        if (module.Contains('.'))
            return Strip(_diffusers.OriginalName(module + ".weight")) is string dotted ? Direct(dotted) : null;
        // Flattened: make the block part dotted; the layer part keeps its underscores and is matched flattened.
        Match m = BlockPattern().Match(module);
        if (m.Success)
        {
            string level = m.Groups["level"].Success ? "." + m.Groups["level"].Value : "";
            string head = $"{m.Groups["block"].Value}{level}.{m.Groups["kind"].Value}.{m.Groups["index"].Value}";
            string rest = m.Groups["rest"].Value;
            // Res block parts are renamed whole ("time_emb_proj" → "emb_layers.1"), so they go through as one name.
            string? original = Strip(_diffusers.OriginalName($"{head}.{rest}.weight"));
            return original == null ? null : Direct(original) ?? Direct(original.Replace('.', '_'));
        }
        Match fixedPart = FixedPattern().Match(module);
        if (!fixedPart.Success) return null;
        string name = fixedPart.Groups[1].Value + (fixedPart.Groups[2].Success ? "." + fixedPart.Groups[2].Value : "");
        return Strip(_diffusers.OriginalName(name + ".weight")) is string top ? Direct(top) : null;
    }

    private static string? Strip(string? weight) =>
        weight != null && weight.EndsWith(".weight", StringComparison.Ordinal) ? weight[..^".weight".Length] : null;

    [GeneratedRegex(@"^(?<block>down_blocks|up_blocks|mid_block)(?:_(?<level>\d+))?_(?<kind>attentions|resnets|downsamplers|upsamplers)_(?<index>\d+)_(?<rest>.+)$")]
    private static partial Regex BlockPattern();

    [GeneratedRegex(@"^(conv_in|conv_out|conv_norm_out|time_embedding|add_embedding)(?:_(linear_\d))?$")]
    private static partial Regex FixedPattern();
}
