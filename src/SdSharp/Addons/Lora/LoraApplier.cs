using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Layers;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Addons.Lora;

/// <summary>One LoRA to apply: its file, and A1111's text-encoder and UNet multipliers (<c>&lt;lora:name:te:unet&gt;</c>).</summary>
public sealed record LoraUse(LoraFile File, string Name, float TextEncoderMultiplier, float UnetMultiplier);

/// <summary>The layers of a loaded model that LoRAs can change, by network.</summary>
public sealed record LoraTargets(
    IReadOnlyDictionary<string, WeightSlot> Unet, IReadOnlyCollection<string> UnetWeights, UNetConfigShape UnetStructure,
    IReadOnlyDictionary<string, WeightSlot>? TextEncoder, IReadOnlyCollection<string>? TextEncoderWeights,
    IReadOnlyDictionary<string, WeightSlot>? TextEncoder2, IReadOnlyCollection<string>? TextEncoder2Weights);

/// <summary>What the diffusers→original UNet name mapping needs to know of the structure.</summary>
public sealed record UNetConfigShape(int ResBlocksPerLevel, bool[] UpLevelHasAttention);

/// <summary>
/// Applies LoRAs the way A1111 does by default (merging, not a second path at run time): each affected weight gets
/// a copy with every LoRA's change added (in fp32, rounded once to the weight's own type), which the layer uses
/// until the returned <see cref="AppliedLoras"/> is disposed. The model's own weights are never written.
/// </summary>
public static class LoraApplier
{
    private const int ListedKeys = 20;

    public static AppliedLoras Apply(IBackend backend, LoraTargets targets, IReadOnlyList<LoraUse> loras, ICollection<string> warnings)
    {
        var networks = new Dictionary<LoraTarget, (IReadOnlyDictionary<string, WeightSlot> Slots, LayerNames Names)>();
        networks[LoraTarget.Unet] = (targets.Unet, Names(targets.Unet, targets.UnetWeights,
            new DiffusersUnetLayout("", targets.UnetStructure.ResBlocksPerLevel, targets.UnetStructure.UpLevelHasAttention)));
        if (targets.TextEncoder != null) networks[LoraTarget.TextEncoder] = (targets.TextEncoder, Names(targets.TextEncoder, targets.TextEncoderWeights!, null));
        if (targets.TextEncoder2 != null) networks[LoraTarget.TextEncoder2] = (targets.TextEncoder2, Names(targets.TextEncoder2, targets.TextEncoder2Weights!, null));

        var sums = new Dictionary<WeightSlot, float[]>(ReferenceEqualityComparer.Instance);
        var order = new List<WeightSlot>();
        foreach (LoraUse lora in loras)
        {
            var unmatched = new List<string>(lora.File.UnknownKeys);
            var unsupported = new List<string>();
            var failed = new List<string>();
            foreach (LoraModule module in lora.File.Modules)
            {
                if (!networks.TryGetValue(module.Target, out var network))
                {
                    unmatched.Add(module.Key);
                    continue;
                }
                string? layer = network.Names.Resolve(module.Module, out bool unused);
                if (layer == null)
                {
                    if (!unused) unmatched.Add(module.Key);
                    continue;
                }
                if (module.Kind == null)
                {
                    unsupported.Add(module.Key);
                    continue;
                }
                float multiplier = module.Target == LoraTarget.Unet ? lora.UnetMultiplier : lora.TextEncoderMultiplier;
                try
                {
                    Add(network.Slots[layer + ".weight"], module.WeightDelta(network.Slots[layer + ".weight"].Shape, multiplier,
                        () => Current(network.Slots[layer + ".weight"], sums)), sums, order);
                    if (module.BiasDelta(multiplier) is float[] bias)
                    {
                        if (network.Slots.TryGetValue(layer + ".bias", out WeightSlot? biasSlot)) Add(biasSlot, bias, sums, order);
                        else failed.Add($"{module.Key} (a bias change for a layer without bias)");
                    }
                }
                catch (ModelFormatException e)
                {
                    failed.Add(e.Message);
                }
            }
            Report(warnings, lora.Name, "keys match no layer of this model", unmatched);
            Report(warnings, lora.Name, "layers are of a kind not supported (only LoRA, LoCon, LoHa, LoKr and full diffs are)", unsupported);
            Report(warnings, lora.Name, "layers do not fit this model", failed);
        }
        return Lend(backend, order, sums);
    }

    private static LayerNames Names(IReadOnlyDictionary<string, WeightSlot> slots, IReadOnlyCollection<string> weights, DiffusersUnetLayout? diffusers) =>
        new(slots.Keys.Where(k => k.EndsWith(".weight", StringComparison.Ordinal)).Select(k => k[..^".weight".Length]), weights, diffusers);

    /// <summary>The weight as changed so far (what A1111 passes the next network: it merges in place, one network after the other).</summary>
    private static float[] Current(WeightSlot slot, Dictionary<WeightSlot, float[]> sums)
    {
        float[] weight = slot.Stored!.ToFloat32();
        if (sums.TryGetValue(slot, out float[]? sum)) HostMath.AddScaled(weight, sum, 1f);
        return weight;
    }

    private static void Add(WeightSlot slot, float[] delta, Dictionary<WeightSlot, float[]> sums, List<WeightSlot> order)
    {
        if (!sums.TryGetValue(slot, out float[]? sum))
        {
            sums[slot] = delta;
            order.Add(slot);
            return;
        }
        HostMath.AddScaled(sum, delta, 1f);
    }

    /// <summary>Makes the merged copies and lends them to their slots.</summary>
    private static AppliedLoras Lend(IBackend backend, List<WeightSlot> order, Dictionary<WeightSlot, float[]> sums)
    {
        var memory = new HostTensorFile();
        var applied = new AppliedLoras(memory);
        try
        {
            foreach (WeightSlot slot in order)
            {
                TensorEntry stored = slot.Stored!;
                float[] merged = stored.ToFloat32();
                HostMath.AddScaled(merged, sums[slot], 1f);
                // The copy keeps the weight's own type: what A1111 stores, and no more memory than the original.
                ElementType type = stored.Type is ElementType.F16 or ElementType.BF16 ? stored.Type : ElementType.F32;
                TensorEntry entry = memory.Add(slot.Name, merged, type, slot.Shape);
                applied.Lend(slot, backend.LoadWeight(entry));
            }
            return applied;
        }
        catch
        {
            applied.Dispose();
            throw;
        }
    }

    private static void Report(ICollection<string> warnings, string lora, string what, List<string> keys)
    {
        if (keys.Count == 0) return;
        string listed = string.Join(", ", keys.Take(ListedKeys));
        string more = keys.Count > ListedKeys ? $", and {keys.Count - ListedKeys} more" : "";
        warnings.Add($"LoRA {lora}: {keys.Count} {what}: {listed}{more}");
    }
}

/// <summary>The merged weights lent to a model's layers; disposing gives the originals back and frees the copies.</summary>
public sealed class AppliedLoras : IDisposable
{
    private readonly HostTensorFile _memory;
    private readonly List<(WeightSlot Slot, Tensor Copy)> _lent = [];

    internal AppliedLoras(HostTensorFile memory) => _memory = memory;

    /// <summary>How many weights are replaced.</summary>
    public int Count => _lent.Count;

    internal void Lend(WeightSlot slot, Tensor copy)
    {
        slot.Replace(copy);
        _lent.Add((slot, copy));
    }

    public void Dispose()
    {
        foreach (var (slot, copy) in _lent)
        {
            slot.Restore();
            copy.Dispose();
        }
        _lent.Clear();
        _memory.Dispose();
    }
}
