using SdSharp.IO;
using SdSharp.Models.Weights;

namespace SdSharp.Addons;

/// <summary>
/// A VAE on its own (A1111's --vae / sd_vae): a single file with the original names ("encoder.down.0…"), the same
/// under "first_stage_model." (a whole checkpoint also works: its VAE is used), or diffusers' names
/// ("encoder.down_blocks.0…", possibly under "vae.").
/// </summary>
public static class VaeFiles
{
    public static WeightMap Map(TensorFile file)
    {
        var names = file.Tensors.Select(t => t.Name).ToList();
        foreach (string prefix in new[] { "first_stage_model.", "vae.", "" })
        {
            if (!names.Any(n => n.StartsWith(prefix + "decoder.", StringComparison.Ordinal))) continue;
            if (names.Any(n => n.StartsWith(prefix + "decoder.up_blocks.", StringComparison.Ordinal)))
            {
                int levels = names.Where(n => n.StartsWith(prefix + "encoder.down_blocks.", StringComparison.Ordinal))
                    .Select(n => n.Split('.')[prefix.Count(ch => ch == '.') + 2]).Distinct().Count();
                return WeightMap.Build(file, new DiffusersVaeLayout(prefix, levels));
            }
            return WeightMap.Build(file, new VaeOnlyLayout(prefix));
        }
        throw new ModelFormatException($"{file.Path}: not a VAE (no decoder weights)");
    }

    /// <summary>Original names under a prefix, without training leftovers (A1111 drops "loss*" and model_ema's counters).</summary>
    private sealed class VaeOnlyLayout(string prefix) : IWeightLayout
    {
        private readonly PrefixLayout _inner = new("vae (original layout)", prefix);

        public string Describe => _inner.Describe;

        public bool Owns(string storedName) =>
            _inner.Owns(storedName) && (storedName[prefix.Length..] is var rest)
            && (rest.StartsWith("encoder.", StringComparison.Ordinal) || rest.StartsWith("decoder.", StringComparison.Ordinal)
                || rest.StartsWith("quant_conv.", StringComparison.Ordinal) || rest.StartsWith("post_quant_conv.", StringComparison.Ordinal));

        public IEnumerable<(string Name, StoredWeight Weight)> Map(TensorEntry entry) => _inner.Map(entry);
    }
}
