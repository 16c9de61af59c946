using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SdSharp.Addons;
using SdSharp.Generation.Infotext;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Merging;

/// <summary>
/// A1111's checkpoint merger (modules/extras.py, run_modelmerger), streaming: the output's header is computed
/// from the inputs' headers, then each tensor is read from the inputs (memory-mapped), combined in fp32 a slice
/// at a time, converted and written, and its pages are dropped from memory. So merging needs a few megabytes
/// whatever the checkpoints' size, and a failure leaves no output (it is written under a temporary name).
/// </summary>
/// <remarks>
/// Which keys are merged, as A1111 merges them: keys of A whose name contains "model" and that B also has; A's
/// other keys are copied; B's keys that A lacks are dropped. In add-difference mode a key C lacks adds nothing
/// (A1111 takes the difference as zero). A with 9 (inpainting) or 8 (InstructPix2Pix) input channels and B with 4:
/// only A's first 4 channels are merged. Deviations: integer tensors (position_ids) are never merged (A1111
/// skips only SD 1.x's position_ids and turns SDXL's into floats); arithmetic is fp32 even for fp16 inputs
/// (torch rounds after every operation in fp16, so results can differ by an fp16 ulp); a VAE in diffusers'
/// layout is baked too (A1111 silently bakes nothing); and mismatched shapes are refused before anything is
/// written.
/// </remarks>
public static class CheckpointMerger
{
    /// <summary>Elements combined at a time: 4 MB per fp32 buffer.</summary>
    private const int SliceElements = 1 << 20;
    private const string VaePrefix = "first_stage_model.";

    private enum Source { CopyA, Merge, MergeFirstChannels, Vae }

    /// <summary>One output tensor and where its values come from.</summary>
    private sealed record Item(string Name, Source Source, ElementType Type, long[] Shape, TensorEntry A, TensorEntry? B = null, TensorEntry? C = null, TensorEntry? Vae = null);

    /// <summary>An opened input and its role ("A", "B", "C").</summary>
    private sealed record Input(string Role, string Path, TensorFile File, ModelFamily Family, Dictionary<string, TensorEntry> Keys);

    public static MergeResult Merge(string a, string b, string? c, string output, MergeOptions options, CancellationToken cancel = default)
    {
        Validate(c, output, options);
        var inputs = new List<Input>();
        TensorFile? vaeFile = null;
        WeightMap? vae = null;
        try
        {
            foreach (var (role, path) in new[] { ("A", a), ("B", b), ("C", c) })
                if (path != null) inputs.Add(Open(role, path));
            CheckFamilies(inputs);
            if (options.BakeVae != null)
            {
                vaeFile = ModelFiles.Open(options.BakeVae);
                vae = VaeFiles.Map(vaeFile);
            }
            Regex? discard = DiscardRegex(options.DiscardWeights);
            var plan = Plan(inputs, vae, options, discard, out int discarded, out bool inpainting, out bool pix2pix);
            if (options.BakeVae != null && !plan.Any(i => i.Source == Source.Vae))
                throw new InvalidInputException($"--bake-vae {options.BakeVae}: none of its weights matches a first_stage_model.* key of A");
            var metadata = Metadata(inputs, output, options, inpainting, pix2pix);
            Write(output, plan, options, metadata, cancel);
            var bKeys = inputs[1].Keys.Keys;
            return new MergeResult(output, plan.Count,
                Merged: plan.Count(i => i.Source is Source.Merge or Source.MergeFirstChannels),
                KeptFromA: plan.Count(i => i.Source == Source.CopyA),
                OnlyInB: bKeys.Count(k => !inputs[0].Keys.ContainsKey(k)),
                BakedVae: plan.Count(i => i.Source == Source.Vae),
                Discarded: discarded, inpainting, pix2pix, metadata);
        }
        finally
        {
            vae?.Dispose();
            vaeFile?.Dispose();
            foreach (var input in inputs) input.File.Dispose();
        }
    }

    private static void Validate(string? c, string output, MergeOptions options)
    {
        if (options.Mode == MergeMode.AddDifference && c == null)
            throw new InvalidInputException("add-difference needs a third model C (A + (B - C)·M)");
        if (options.Mode == MergeMode.WeightedSum && c != null)
            throw new InvalidInputException("weighted-sum takes two models; a third (C) is only for add-difference");
        if (!double.IsFinite(options.Multiplier)) throw new InvalidInputException($"--multiplier {options.Multiplier}: not a number");
        if (!output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new InvalidInputException($"{output}: the merged checkpoint is written as .safetensors; name the output *.safetensors");
        // Checked again when the output is moved into place; this is only to fail before minutes of hashing and merging.
        if (!options.Overwrite && File.Exists(output)) throw new FileExistsException(output);
        if (options.Precision is ElementType p && p is not (ElementType.F16 or ElementType.BF16 or ElementType.F32))
            throw new ArgumentException($"Precision {p} is not a checkpoint precision.");
    }

    private static Input Open(string role, string path)
    {
        // A1111 merges the files in its checkpoint list; a diffusers folder is not one of them.
        if (Directory.Exists(path))
            throw new InvalidInputException($"model {role}: {path} is a folder (diffusers layout); the merger takes single-file checkpoints (.safetensors, .ckpt), as A1111's does");
        TensorFile file = ModelFiles.OpenFile(path);
        try
        {
            ModelFamily family;
            try
            {
                family = Checkpoint.DetectFamily(file);
            }
            catch (ModelFormatException e)
            {
                throw new ModelFormatException($"model {role}: {e.Message}", e);
            }
            var keys = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            foreach (TensorEntry entry in file.Tensors) keys[A1111Key(entry.Name)] = entry;
            return new Input(role, path, file, family, keys);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The key as A1111 reads it (sd_models.get_state_dict_from_checkpoint): SD 1.x text encoders saved by old
    /// transformers lack "text_model.", so files of both ages merge key to key.
    /// </summary>
    private static string A1111Key(string key)
    {
        const string clip = "cond_stage_model.transformer.";
        if (!key.StartsWith(clip, StringComparison.Ordinal)) return key;
        string rest = key[clip.Length..];
        return rest.StartsWith("embeddings.", StringComparison.Ordinal) || rest.StartsWith("encoder.", StringComparison.Ordinal)
               || rest.StartsWith("final_layer_norm.", StringComparison.Ordinal)
            ? clip + "text_model." + rest
            : key;
    }

    private static void CheckFamilies(List<Input> inputs)
    {
        foreach (var other in inputs.Skip(1))
            if (other.Family != inputs[0].Family)
                throw new InvalidInputException(
                    $"cannot merge A ({Checkpoint.Describe(inputs[0].Family)}, {inputs[0].Path}) with {other.Role} ({Checkpoint.Describe(other.Family)}, {other.Path}): different architectures");
    }

    private static Regex? DiscardRegex(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern)) return null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new InvalidInputException($"--discard-weights {pattern}: not a valid regular expression ({e.Message})");
        }
    }

    private static List<Item> Plan(List<Input> inputs, WeightMap? vae, MergeOptions options, Regex? discard,
        out int discarded, out bool inpainting, out bool pix2pix)
    {
        Input a = inputs[0], b = inputs[1];
        Input? c = inputs.Count > 2 ? inputs[2] : null;
        var plan = new List<Item>();
        var mismatches = new List<string>();
        discarded = 0;
        inpainting = pix2pix = false;
        foreach (var (name, ea) in a.Keys)
        {
            // Leaving a key out before checking it lets --discard-weights drop what would not merge (model_ema).
            if (discard != null && discard.IsMatch(name))
            {
                discarded++;
                continue;
            }
            if (vae != null && name.StartsWith(VaePrefix, StringComparison.Ordinal) && vae.Contains(name[VaePrefix.Length..]))
            {
                TensorEntry ev = vae.Get(name[VaePrefix.Length..]);
                // Same element count: a diffusers VAE stores the mid-block attention as [C, C] where A has [C, C, 1, 1].
                if (ev.ElementCount != ea.ElementCount || !ev.Type.IsFloat())
                    mismatches.Add($"{name} [{Dims(ea.Shape)}] vs the VAE's [{Dims(ev.Shape)}]");
                else plan.Add(new Item(name, Source.Vae, OutputType(options, ev.Type), ea.Shape, ea, Vae: ev));
                continue;
            }
            TensorEntry? eb = b.Keys.GetValueOrDefault(name);
            if (!name.Contains("model", StringComparison.Ordinal) || eb == null || !ea.Type.IsFloat() || !eb.Type.IsFloat())
            {
                plan.Add(new Item(name, Source.CopyA, OutputType(options, ea.Type), ea.Shape, ea));
                continue;
            }
            TensorEntry? ec = c?.Keys.GetValueOrDefault(name);
            if (ec != null && (!ec.Type.IsFloat() || !ec.Shape.SequenceEqual(eb.Shape)))
            {
                mismatches.Add($"{name} B [{Dims(eb.Shape)}] vs C [{Dims(ec.Shape)}]");
                continue;
            }
            if (ea.Shape.SequenceEqual(eb.Shape))
            {
                // torch's type promotion: fp16 with fp16 stays fp16, anything with fp32 (or fp16 with bf16) is fp32.
                ElementType merged = Promote(Promote(ea.Type, eb.Type), ec?.Type ?? eb.Type);
                plan.Add(new Item(name, Source.Merge, OutputType(options, merged), ea.Shape, ea, eb, ec));
                continue;
            }
            if (SameButChannels(ea.Shape, eb.Shape))
            {
                long ca = ea.Shape[1], cb = eb.Shape[1];
                if (ca == 4 && cb is 9 or 8)
                    throw new InvalidInputException(
                        $"{name}: B has {cb} input channels and A 4; when merging an {(cb == 9 ? "inpainting" : "InstructPix2Pix")} model with a normal one, A must be the {(cb == 9 ? "inpainting" : "InstructPix2Pix")} model");
                if (ca is 9 or 8 && cb == 4)
                {
                    inpainting |= ca == 9;
                    pix2pix |= ca == 8;
                    // Written into A's tensor, so A's type (A1111 assigns into theta_0[key][:, 0:4]).
                    plan.Add(new Item(name, Source.MergeFirstChannels, OutputType(options, ea.Type), ea.Shape, ea, eb, ec));
                    continue;
                }
            }
            mismatches.Add($"{name} A [{Dims(ea.Shape)}] vs B [{Dims(eb.Shape)}]");
        }
        if (mismatches.Count > 0)
            throw new InvalidInputException(
                $"the models do not have the same architecture: {mismatches.Count} tensor{(mismatches.Count == 1 ? "" : "s")} differ in shape, e.g. {string.Join("; ", mismatches.Take(3))}");
        return plan;
    }

    private static bool SameButChannels(long[] x, long[] y) =>
        x.Length == 4 && y.Length == 4 && x[0] == y[0] && x[2] == y[2] && x[3] == y[3];

    private static ElementType Promote(ElementType x, ElementType y) =>
        x == y ? x : x == ElementType.F64 || y == ElementType.F64 ? ElementType.F64 : ElementType.F32;

    private static ElementType OutputType(MergeOptions options, ElementType natural) =>
        options.Precision is ElementType p && natural.IsFloat() ? p : natural;

    private static string Dims(long[] shape) => string.Join(", ", shape);

    // ---- metadata ----

    /// <summary>
    /// What A1111 writes with its defaults (save metadata, copy the inputs' metadata, add the merge recipe): the
    /// inputs' safetensors metadata (A, then B, then C), "format": "pt", "sd_merge_recipe" (the settings and the
    /// inputs' SHA-256) and "sd_merge_models" (each input's name and hashes, plus the models it was merged from).
    /// </summary>
    private static Dictionary<string, string> Metadata(List<Input> inputs, string output, MergeOptions options, bool inpainting, bool pix2pix)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in inputs)
            if (input.File is SafetensorsFile) // A1111 reads metadata from safetensors files only
                foreach (var (key, value) in input.File.Metadata) metadata[key] = value;
        metadata["format"] = "pt";

        ModelHashes hashes = options.Hashes ?? ModelHashes.Default;
        string[] sha = [.. inputs.Select(i => hashes.Sha256(i.Path))];
        var recipe = new JsonObject
        {
            ["type"] = "webui",
            ["primary_model_hash"] = sha[0],
            ["secondary_model_hash"] = sha[1],
            ["tertiary_model_hash"] = sha.Length > 2 ? sha[2] : null,
            ["interp_method"] = options.Mode == MergeMode.WeightedSum ? "Weighted sum" : "Add difference",
            ["multiplier"] = options.Multiplier,
            ["save_as_half"] = options.Precision == ElementType.F16,
            ["custom_name"] = Path.GetFileNameWithoutExtension(output),
            ["config_source"] = 3, // "Don't": no .yaml config is copied beside the output
            ["bake_in_vae"] = options.BakeVae != null ? Path.GetFileName(options.BakeVae) : "None",
            ["discard_weights"] = options.DiscardWeights ?? "",
            ["is_inpainting"] = inpainting,
            ["is_instruct_pix2pix"] = pix2pix,
        };
        var models = new JsonObject();
        for (int i = 0; i < inputs.Count; i++)
        {
            var meta = inputs[i].File is SafetensorsFile ? inputs[i].File.Metadata : new Dictionary<string, string>();
            models[sha[i]] = new JsonObject
            {
                ["name"] = Path.GetFileName(inputs[i].Path),
                ["legacy_hash"] = ModelHashes.LegacyHash(inputs[i].Path),
                ["sd_merge_recipe"] = ParseObject(meta.GetValueOrDefault("sd_merge_recipe")),
            };
            // A merged input brings the models it was merged from.
            if (ParseObject(meta.GetValueOrDefault("sd_merge_models")) is JsonObject earlier)
                foreach (var (key, value) in earlier) models[key] = value?.DeepClone();
        }
        metadata["sd_merge_recipe"] = recipe.ToJsonString();
        metadata["sd_merge_models"] = models.ToJsonString();
        return metadata;
    }

    /// <summary>A JSON object stored as a metadata string, or null (A1111 parses values that start with '{').</summary>
    private static JsonObject? ParseObject(string? text)
    {
        if (text == null || !text.StartsWith('{')) return null;
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    // ---- streaming ----

    private static void Write(string output, List<Item> plan, MergeOptions options, Dictionary<string, string> metadata, CancellationToken cancel)
    {
        using var writer = SafetensorsWriter.Create(output, plan.Select(i => new TensorSpec(i.Name, i.Type, i.Shape)), metadata, options.Overwrite);
        var buffers = new Buffers();
        float wa = (float)(1 - options.Multiplier), wb = (float)options.Multiplier;
        foreach (Item item in plan)
        {
            cancel.ThrowIfCancellationRequested();
            switch (item.Source)
            {
                case Source.CopyA: Stream(writer, item, item.A, null, null, buffers, (_, _, _, _) => { }); break;
                case Source.Vae: Stream(writer, item, item.Vae!, null, null, buffers, (_, _, _, _) => { }); break;
                case Source.Merge when options.Mode == MergeMode.WeightedSum:
                    Stream(writer, item, item.A, item.B, null, buffers, (x, y, _, n) => WeightedSum(x, y, n, wa, wb));
                    break;
                case Source.Merge when item.C != null:
                    Stream(writer, item, item.A, item.B, item.C, buffers, (x, y, z, n) => AddDifference(x, y, z, n, wb));
                    break;
                case Source.Merge: // add-difference without the key in C: the difference is zero
                    Stream(writer, item, item.A, null, null, buffers, (_, _, _, _) => { });
                    break;
                case Source.MergeFirstChannels: MergeFirstChannels(writer, item, options, wa, wb, buffers); break;
            }
            foreach (var entry in new[] { item.A, item.B, item.C, item.Vae }) entry?.DropFromMemory();
        }
        writer.Commit();
    }

    private sealed class Buffers
    {
        public readonly float[] X = new float[SliceElements], Y = new float[SliceElements], Z = new float[SliceElements];
        public readonly byte[] Bytes = new byte[SliceElements * 8];
    }

    /// <summary>
    /// Writes <paramref name="item"/> slice by slice: <paramref name="x"/> (with <paramref name="y"/> and
    /// <paramref name="z"/> when given) read as fp32, combined in place into the first buffer, converted to the
    /// item's type. Same type and nothing to combine: the bytes are copied as they are (integers, exact copies).
    /// </summary>
    private static void Stream(SafetensorsWriter writer, Item item, TensorEntry x, TensorEntry? y, TensorEntry? z, Buffers buffers,
        Action<float[], float[], float[], int> combine)
    {
        long count = x.ElementCount;
        if (y == null && x.Type == item.Type)
        {
            long bytes = x.ByteLength;
            for (long start = 0; start < bytes || start == 0; start += buffers.Bytes.Length)
            {
                int n = (int)Math.Min(buffers.Bytes.Length, bytes - start);
                writer.WriteTensorPart(item.Name, x.View(x.Name, [n / x.Type.Size()], start).Bytes);
                if (bytes == 0) break;
            }
            return;
        }
        for (long start = 0; start < count || start == 0; start += SliceElements)
        {
            int n = (int)Math.Min(SliceElements, count - start);
            Read(x, start, n, buffers.X);
            if (y != null) Read(y, start, n, buffers.Y);
            if (z != null) Read(z, start, n, buffers.Z);
            combine(buffers.X, buffers.Y, buffers.Z, n);
            writer.WriteTensorPart(item.Name, Encode(buffers.X.AsSpan(0, n), item.Type, buffers.Bytes));
            if (count == 0) break;
        }
    }

    /// <summary>
    /// A 9- or 8-channel first convolution of A with B's 4-channel one: per output channel, A's first 4 input
    /// channels are merged with B's and the others copied. The only tensor of this shape is the UNet's conv_in
    /// (a few hundred kilobytes), so it is done in one piece.
    /// </summary>
    private static void MergeFirstChannels(SafetensorsWriter writer, Item item, MergeOptions options, float wa, float wb, Buffers buffers)
    {
        float[] a = item.A.ToFloat32(), b = item.B!.ToFloat32();
        float[]? c = item.C?.ToFloat32();
        long outer = item.A.Shape[0], inner = item.A.Shape[2] * item.A.Shape[3];
        int blockA = (int)(item.A.Shape[1] * inner), blockB = (int)(4 * inner);
        for (int o = 0; o < outer; o++)
        {
            var x = a.AsSpan(o * blockA, blockB);
            var y = b.AsSpan(o * blockB, blockB);
            for (int i = 0; i < blockB; i++)
                x[i] = options.Mode == MergeMode.WeightedSum ? wa * x[i] + wb * y[i]
                    : c == null ? x[i] : x[i] + wb * (y[i] - c[o * blockB + i]);
        }
        byte[] bytes = a.Length * 8 <= buffers.Bytes.Length ? buffers.Bytes : new byte[a.Length * 8];
        writer.WriteTensor(item.Name, Encode(a, item.Type, bytes));
    }

    // No fused multiply-add: each product and sum is rounded as torch rounds it, so fp32 inputs give torch's bits.
    private static void WeightedSum(float[] a, float[] b, int n, float wa, float wb)
    {
        for (int i = 0; i < n; i++) a[i] = wa * a[i] + wb * b[i];
    }

    private static void AddDifference(float[] a, float[] b, float[] c, int n, float m)
    {
        for (int i = 0; i < n; i++) a[i] = a[i] + m * (b[i] - c[i]);
    }

    private static void Read(TensorEntry entry, long start, int count, float[] destination) =>
        entry.View(entry.Name, [count], start * entry.Type.Size()).CopyToFloat32(destination.AsSpan(0, count));

    private static ReadOnlySpan<byte> Encode(ReadOnlySpan<float> values, ElementType type, byte[] buffer)
    {
        int n = values.Length;
        switch (type)
        {
            case ElementType.F32: NumericConversions.FromSingle(values, DType.F32, buffer); break;
            case ElementType.F16: NumericConversions.FromSingle(values, DType.F16, buffer); break;
            case ElementType.BF16: NumericConversions.FromSingle(values, DType.BF16, buffer); break;
            case ElementType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(buffer.AsSpan(0, 8 * n));
                for (int i = 0; i < n; i++) doubles[i] = values[i];
                break;
            default:
                throw new InvalidOperationException($"cannot write merged values as {type}");
        }
        return buffer.AsSpan(0, n * type.Size());
    }

    /// <summary>"weighted sum, A·0.7 + B·0.3", for reports.</summary>
    public static string Describe(MergeMode mode, double multiplier) => mode == MergeMode.WeightedSum
        ? string.Create(CultureInfo.InvariantCulture, $"weighted sum, A·{1 - multiplier:0.###} + B·{multiplier:0.###}")
        : string.Create(CultureInfo.InvariantCulture, $"add difference, A + (B - C)·{multiplier:0.###}");
}
