using System.Globalization;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// A request rebuilt from an image's infotext (for <c>--from-png</c>), with what the request itself cannot
/// hold: the model and VAE the image names, and what could not be used.
/// </summary>
/// <param name="ModelName">"Model": the checkpoint's file name without extension.</param>
/// <param name="ModelHash">"Model hash": 10 hex digits of its SHA-256 (or 8 for images from before 2023).</param>
/// <param name="Warnings">Values that were unknown or unreadable and were left at their defaults, one sentence each.</param>
public sealed record InfotextRequest(GenerationRequest Request, string? ModelName, string? ModelHash, string? VaeName,
                                     IReadOnlyList<string> Warnings)
{
    /// <summary>
    /// Maps parsed infotext to request fields the way A1111's "send to txt2img/img2img" fills its controls:
    /// sampler and schedule through <c>get_sampler_and_scheduler</c> (so "DPM++ 2M Karras" becomes DPM++ 2M with
    /// the Automatic schedule), "Size" to width and height, the hires, variation-seed, refiner and inpainting keys
    /// to their fields, and A1111 settings recorded in the text (Clip skip, RNG, ENSD, compatibility flags) to
    /// their fields or to <see cref="GenerationRequest.OverrideSettings"/>. A value that does not parse leaves
    /// the field at its default, as A1111 does, and adds a warning.
    /// </summary>
    public static InfotextRequest From(ParsedInfotext infotext)
    {
        ArgumentNullException.ThrowIfNull(infotext);
        var read = new FieldReader(infotext);
        var request = new GenerationRequest { Prompt = infotext.Prompt, NegativePrompt = infotext.NegativePrompt };

        var (sampler, schedule) = A1111Samplers.Resolve(infotext.GetText("Sampler"), infotext.GetText("Schedule type"),
                                                        convertAutomatic: true, out bool knownSampler);
        if (!knownSampler && infotext.GetText("Sampler") is string unknown)
            read.Warn($"unknown sampler \"{unknown}\": using {sampler.Name}, as A1111 does");
        request = request with
        {
            SamplerName = sampler.Name,
            Scheduler = schedule == A1111Samplers.Automatic ? null : schedule,
            Steps = read.Int32("Steps") ?? request.Steps,
            CfgScale = read.Float("CFG scale") ?? request.CfgScale,
            Seed = read.Int("Seed") ?? request.Seed,
            Width = read.Int32("Size-1") ?? request.Width,
            Height = read.Int32("Size-2") ?? request.Height,
            BatchSize = read.Int32("Batch size") ?? request.BatchSize,
            Subseed = read.Int("Variation seed") ?? request.Subseed,
            SubseedStrength = read.Float("Variation seed strength") ?? request.SubseedStrength,
            SeedResizeFromW = read.Int32("Seed resize from-1") ?? request.SeedResizeFromW,
            SeedResizeFromH = read.Int32("Seed resize from-2") ?? request.SeedResizeFromH,
            ClipSkip = read.Int32("Clip skip") ?? request.ClipSkip,
            Rng = RngName(read, infotext.GetText("RNG")) ?? request.Rng,
            EtaNoiseSeedDelta = read.Int("ENSD") ?? request.EtaNoiseSeedDelta,
            Eta = read.Float("Eta") ?? read.Float("Eta DDIM"),
            Tiling = infotext.GetText("Tiling") is string tiling ? tiling is not ("False" or "") : request.Tiling,
            DenoisingStrength = read.Float("Denoising strength"),
            ImageCfgScale = read.Float("Image CFG scale"),
            InitialNoiseMultiplier = read.Float("Noise multiplier") ?? request.InitialNoiseMultiplier,
            RefinerCheckpoint = infotext.GetText("Refiner"),
            RefinerSwitchAt = read.Float("Refiner switch at"),
        };
        request = WithHires(request, infotext, read);
        if (IsImg2Img(infotext)) request = WithInpainting(request, read);

        var overrides = OverrideSettings(infotext);
        if (overrides.Count > 0) request = request with { OverrideSettings = overrides };
        return new InfotextRequest(request, infotext.GetText("Model"), infotext.GetText("Model hash"), infotext.GetText("VAE"), read.Warnings);
    }

    /// <summary>
    /// Hires fix is on when a denoising strength comes with a hires key. A1111's own test also counts
    /// "Hires resize-1", which its parser always fills in, so A1111 turns hires on for every img2img infotext;
    /// here only keys written in the text count.
    /// </summary>
    private static bool IsHires(ParsedInfotext infotext) =>
        infotext.Contains("Denoising strength")
        && (infotext.IsWritten("Hires upscale") || infotext.IsWritten("Hires upscaler") || infotext.IsWritten("Hires resize-1"));

    private static bool IsImg2Img(ParsedInfotext infotext) => infotext.Contains("Denoising strength") && !IsHires(infotext);

    private static GenerationRequest WithHires(GenerationRequest request, ParsedInfotext infotext, FieldReader read)
    {
        // get_hr_sampler_and_scheduler, except that "the same" is judged after resolving both passes' names: A1111
        // compares with the first pass's text, so "DPM++ 2M Karras" gets a hires sampler "DPM++ 2M" that is no change.
        string? sampler = infotext.GetText("Hires sampler") is string hs && hs != "Use same sampler" ? hs : infotext.GetText("Sampler");
        string? schedule = infotext.GetText("Hires schedule type") is string hst && hst != "Use same scheduler" ? hst : infotext.GetText("Schedule type");
        var (hrSampler, hrSchedule) = A1111Samplers.Resolve(sampler, schedule, convertAutomatic: true, out _);
        return request with
        {
            EnableHr = IsHires(infotext),
            HrScale = read.Float("Hires upscale") ?? request.HrScale,
            HrUpscaler = infotext.GetText("Hires upscaler"),
            HrSecondPassSteps = read.Int32("Hires steps") ?? request.HrSecondPassSteps,
            HrResizeX = read.Int32("Hires resize-1") ?? request.HrResizeX,
            HrResizeY = read.Int32("Hires resize-2") ?? request.HrResizeY,
            HrSamplerName = hrSampler.Name != request.SamplerName ? hrSampler.Name : null,
            HrScheduler = hrSchedule != (request.Scheduler ?? A1111Samplers.Automatic) ? hrSchedule : null,
            HrPrompt = infotext.GetText("Hires prompt") ?? "",
            HrNegativePrompt = infotext.GetText("Hires negative prompt") ?? "",
        };
    }

    /// <summary>The img2img tab's inpainting controls, from the keys A1111 writes or the defaults its parser assumes.</summary>
    private static GenerationRequest WithInpainting(GenerationRequest request, FieldReader read)
    {
        int blur = read.Int32("Mask blur") ?? request.MaskBlurX;
        return request with
        {
            MaskBlurX = blur,
            MaskBlurY = blur,
            InpaintingMaskInvert = read.Text("Mask mode") == "Inpaint not masked" ? 1 : 0,
            InpaintingFill = read.Text("Masked content") switch
            {
                "fill" => 0,
                "latent noise" => 2,
                "latent nothing" => 3,
                _ => 1,
            },
            InpaintFullRes = read.Text("Inpaint area") == "Only masked",
            InpaintFullResPadding = read.Int32("Masked area padding") ?? request.InpaintFullResPadding,
        };
    }

    private static string? RngName(FieldReader read, string? label)
    {
        switch (label)
        {
            case null: return null;
            case "CPU": return "cpu";
            case "NV": return "nv";
            case "GPU": return "gpu"; // CUDA's randn; ours is NV's formula, the closest we have
            default:
                read.Warn($"unknown RNG \"{label}\"");
                return null;
        }
    }

    /// <summary>
    /// Infotext keys that are A1111 settings affecting the result, with the setting's name and default; like
    /// A1111's <c>get_override_settings</c>, only values that differ from the setting's (default) value are kept.
    /// </summary>
    private static readonly (string Key, string Setting, string Default)[] Settings =
    [
        ("Emphasis", "emphasis", "Original"),
        ("Old prompt editing timelines", "use_old_scheduling", "False"),
        ("Pad conds", "pad_cond_uncond", "False"),
        ("Pad conds v0", "pad_cond_uncond_v0", "False"),
        ("Downcast alphas_cumprod", "use_downcasted_alpha_bar", "False"),
        ("Refiner switch by sampling steps", "refiner_switch_by_sample_steps", "False"),
        ("Schedule min sigma", "sigma_min", "0"),
        ("Schedule max sigma", "sigma_max", "0"),
        ("Schedule rho", "rho", "0"),
        ("Conditional mask weight", "inpainting_mask_weight", "1"),
        ("Extra noise", "img2img_extra_noise", "0"),
        ("SGM noise multiplier", "sgm_noise_multiplier", "False"),
        ("Discard penultimate sigma", "always_discard_next_to_last_sigma", "False"),
        ("NGMS", "s_min_uncond", "0"),
        ("VAE Encoder", "sd_vae_encode_method", "Full"),
        ("VAE Decoder", "sd_vae_decode_method", "Full"),
        ("Hires refiner", "hires_fix_refiner_pass", "second pass"),
        ("Token merging ratio", "token_merging_ratio", "0"),
        ("Token merging ratio hr", "token_merging_ratio_hr", "0"),
    ];

    private static Dictionary<string, string> OverrideSettings(ParsedInfotext infotext)
    {
        var overrides = new Dictionary<string, string>();
        foreach (var (key, setting, fallback) in Settings)
        {
            if (infotext.GetText(key) is not string value || SameValue(value, fallback)) continue;
            overrides[setting] = value;
        }
        return overrides;
    }

    private static bool SameValue(string a, string b) =>
        a == b || (PythonText.TryParseFloat(a, out double x) && PythonText.TryParseFloat(b, out double y) && x == y);

    /// <summary>Reads values like A1111's paste: Python's int()/float(), and a warning instead of a value when that fails.</summary>
    private sealed class FieldReader(ParsedInfotext infotext)
    {
        private readonly List<string> _warnings = [];

        public IReadOnlyList<string> Warnings => _warnings;

        public void Warn(string message) => _warnings.Add(message);

        public string? Text(string key) => infotext.GetText(key);

        public long? Int(string key)
        {
            if (infotext.GetText(key) is not string text) return null;
            if (PythonText.TryParseInt(text, out long value)) return value;
            Warn($"\"{key}: {text}\" is not a whole number");
            return null;
        }

        public int? Int32(string key)
        {
            if (Int(key) is not long value) return null;
            if (value is >= int.MinValue and <= int.MaxValue) return (int)value;
            Warn($"\"{key}: {value}\" is out of range");
            return null;
        }

        public double? Float(string key)
        {
            if (infotext.GetText(key) is not string text) return null;
            if (PythonText.TryParseFloat(text, out double value)) return value;
            Warn($"\"{key}: {text}\" is not a number");
            return null;
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Request.SamplerName}, {Request.Steps} steps, seed {Request.Seed}, model {ModelName ?? "?"} [{ModelHash ?? "?"}]");
}
