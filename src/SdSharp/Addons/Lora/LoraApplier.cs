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

        // Names are resolved in order first; the arithmetic, independent per weight, then runs on every core.
        var work = new Dictionary<WeightSlot, List<Change>>(ReferenceEqualityComparer.Instance);
        var order = new List<WeightSlot>();
        void Plan(WeightSlot slot, Change change)
        {
            if (!work.TryGetValue(slot, out var changes))
            {
                work[slot] = changes = [];
                order.Add(slot);
            }
            changes.Add(change);
        }
        var problems = new List<(string Lora, List<string> Unmatched, List<string> Unsupported, List<string> Failed)>();
        foreach (LoraUse lora in loras)
        {
            var unmatched = new List<string>(lora.File.UnknownKeys);
            var unsupported = new List<string>();
            var failed = new List<string>();
            problems.Add((lora.Name, unmatched, unsupported, failed));
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
                Plan(network.Slots[layer + ".weight"], new Change(module, multiplier, Bias: false, failed));
                if (module.HasBiasDelta)
                {
                    if (network.Slots.TryGetValue(layer + ".bias", out WeightSlot? biasSlot)) Plan(biasSlot, new Change(module, multiplier, Bias: true, failed));
                    else failed.Add($"{module.Key} (a bias change for a layer without bias)");
                }
            }
        }

        var merged = new TensorEntry?[order.Count];
        var memory = new HostTensorFile();
        try
        {
            Parallel.For(0, order.Count, i => merged[i] = Merge(order[i], work[order[i]], memory));
        }
        catch
        {
            memory.Dispose();
            throw;
        }
        foreach (var (name, unmatched, unsupported, failed) in problems)
        {
            Report(warnings, name, "keys match no layer of this model", unmatched);
            Report(warnings, name, "layers are of a kind not supported (only LoRA, LoCon, LoHa, LoKr and full diffs are)", unsupported);
            Report(warnings, name, "layers do not fit this model", failed);
        }
        return Lend(backend, order, merged, memory);
    }

    /// <summary>One network's change to one weight (or bias), applied in the order the prompt names the networks.</summary>
    private sealed record Change(LoraModule Module, float Multiplier, bool Bias, List<string> Failed);

    private static LayerNames Names(IReadOnlyDictionary<string, WeightSlot> slots, IReadOnlyCollection<string> weights, DiffusersUnetLayout? diffusers) =>
        new(slots.Keys.Where(k => k.EndsWith(".weight", StringComparison.Ordinal)).Select(k => k[..^".weight".Length]), weights, diffusers);

    /// <summary>
    /// The weight with its changes added, each network seeing the weight as the earlier ones left it (A1111 merges in
    /// place, one network after the other; only DoRA reads it), stored in the weight's own type; null when every
    /// change failed.
    /// </summary>
    private static TensorEntry? Merge(WeightSlot slot, List<Change> changes, HostTensorFile memory)
    {
        TensorEntry stored = slot.Stored!;
        float[] weight = stored.ToFloat32();
        bool changed = false;
        foreach (Change change in changes)
        {
            try
            {
                float[]? delta = change.Bias ? change.Module.BiasDelta(change.Multiplier) : change.Module.WeightDelta(slot.Shape, change.Multiplier, () => (float[])weight.Clone());
                HostMath.AddScaled(weight, delta!, 1f);
                changed = true;
            }
            catch (ModelFormatException e)
            {
                lock (change.Failed) change.Failed.Add(e.Message);
            }
        }
        if (!changed) return null;
        // The copy keeps the weight's own type: what A1111 stores, and no more memory than the original.
        ElementType type = stored.Type is ElementType.F16 or ElementType.BF16 ? stored.Type : ElementType.F32;
        return memory.Add(slot.Name, weight, type, slot.Shape);
    }

    /// <summary>Loads the merged copies on the backend and lends them to their slots.</summary>
    private static AppliedLoras Lend(IBackend backend, List<WeightSlot> order, TensorEntry?[] merged, HostTensorFile memory)
    {
        var applied = new AppliedLoras(memory);
        try
        {
            for (int i = 0; i < order.Count; i++)
                if (merged[i] is TensorEntry entry) applied.Lend(order[i], backend.LoadWeight(entry));
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
