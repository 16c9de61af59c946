using System.Reflection;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// Writes the infotext A1111 would write for a request it ran (its <c>create_infotext</c> plus the extra
/// parameters processing, samplers, LoRA and embedding code add along the way, in the order they add them), so
/// that A1111, civitai and other readers see the same parameters they would see on A1111's own images.
/// </summary>
public static class InfotextFactory
{
    /// <summary>
    /// Our "Version" value. It must not parse as a PEP 440 version: A1111 compares an image's version with its
    /// own releases and turns on old-behaviour flags for anything older than 1.7.0, which "0.1.0" would be.
    /// "SdSharp v0.1.0" is skipped there, and still names the program to people and to tools that show it.
    /// </summary>
    public static string SdSharpVersion { get; } = "SdSharp v" + ProgramVersion();

    public static ImageInfotext Create(GenerationRequest request, InfotextFacts facts)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(facts);
        var (sampler, schedule) = ResolveSampler(request.SamplerName ?? "Euler", request.Scheduler);
        bool img2img = request.InitImages is { Count: > 0 };
        string prompt = facts.Prompt ?? request.Prompt;
        string negative = facts.NegativePrompt ?? request.NegativePrompt;
        var b = new InfotextBuilder(prompt, negative);

        b.Set("Steps", request.Steps)
         .Set("Sampler", sampler.Name)
         .Set("Schedule type", facts.ScheduleType ?? A1111Samplers.ScheduleUsed(sampler, schedule))
         .Set("CFG scale", request.CfgScale)
         .Set("Seed", facts.Seed)
         .Set("Size", $"{facts.Width ?? request.Width}x{facts.Height ?? request.Height}")
         .Set("Model hash", facts.ModelHash)
         .Set("Model", facts.ModelName)
         .Set("VAE hash", facts.VaeHash)
         .Set("VAE", facts.VaeName)
         .Set("Conditional mask weight", facts.ConditionalMaskWeight)
         .Set("RNG", RngLabel(request.Rng));
        if (request.SubseedStrength != 0)
            b.Set("Variation seed", facts.Subseed).Set("Variation seed strength", request.SubseedStrength);
        if (request.SeedResizeFromW > 0 && request.SeedResizeFromH > 0)
            b.Set("Seed resize from", $"{request.SeedResizeFromW}x{request.SeedResizeFromH}");
        if (request.ClipSkip > 1) b.Set("Clip skip", request.ClipSkip);
        // A1111 reports ENSD only where it changes something: samplers that draw noise, with a non-zero eta.
        if (request.EtaNoiseSeedDelta != 0 && sampler.UsesEnsd && (request.Eta ?? 1.0) != 0)
            b.Set("ENSD", request.EtaNoiseSeedDelta);
        if (request.Tiling) b.Set("Tiling", "True");

        if (img2img)
        {
            b.Set("Denoising strength", facts.DenoisingStrength ?? request.DenoisingStrength ?? 0.75);
            AddMaskParameters(b, request, facts);
        }
        else if (request.EnableHr)
        {
            b.Set("Denoising strength", facts.DenoisingStrength ?? request.DenoisingStrength ?? 0.7);
            AddHiresParameters(b, request, prompt, negative, sampler, schedule);
        }

        // Networks are activated, and embeddings looked up, after the pass setup above.
        b.Set("Lora hashes", NetworkList(facts.Loras, distinct: true));
        b.Set("TI hashes", NetworkList(facts.Embeddings, distinct: false));

        // Then the sampler adds what it used.
        if (img2img && request.InitialNoiseMultiplier != 1.0) b.Set("Noise multiplier", request.InitialNoiseMultiplier);
        if (sampler.EtaKey != null && request.Eta is double eta && eta != sampler.EtaDefault) b.Set(sampler.EtaKey, eta);
        if (facts.Refiner != null) b.Set("Refiner", facts.Refiner).Set("Refiner switch at", request.RefinerSwitchAt);

        return b.Set("Version", facts.Version).Set("User", facts.User).Build();
    }

    /// <summary>A1111's sampler fix-up: legacy names are split, the scheduler kept as given ("Automatic" when none).</summary>
    private static (A1111Sampler Sampler, string Schedule) ResolveSampler(string samplerName, string? scheduler)
    {
        var (sampler, schedule) = A1111Samplers.Resolve(samplerName, scheduler, convertAutomatic: false, out bool known);
        if (!known) throw new InvalidInputException($"unknown sampler \"{samplerName}\"");
        return (sampler, schedule);
    }

    /// <summary>
    /// The hires keys in the order <c>StableDiffusionProcessingTxt2Img.init</c> adds them (the schedule type's
    /// place is reserved there and filled during the second pass).
    /// </summary>
    private static void AddHiresParameters(InfotextBuilder b, GenerationRequest request, string prompt, string negative,
                                           A1111Sampler sampler, string schedule)
    {
        if (request.HrSamplerName != null && request.HrSamplerName != sampler.Name) b.Set("Hires sampler", request.HrSamplerName);

        // An empty hires prompt means the first pass's; only a different one is written.
        string hrPrompt = request.HrPrompt.Length > 0 ? request.HrPrompt : prompt;
        string hrNegative = request.HrNegativePrompt.Length > 0 ? request.HrNegativePrompt : negative;
        if (hrPrompt != prompt) b.Set("Hires prompt", hrPrompt);
        if (hrNegative != negative) b.Set("Hires negative prompt", hrNegative);

        var (hrSampler, _) = request.HrSamplerName != null ? ResolveSampler(request.HrSamplerName, null) : (sampler, schedule);
        string hrSchedule = request.HrScheduler ?? schedule;
        string? firstPassRecorded = A1111Samplers.RecordsSchedule(sampler, schedule) ? A1111Samplers.ScheduleUsed(sampler, schedule) : null;
        if (A1111Samplers.FindScheduler(hrSchedule) is { } known && A1111Samplers.RecordsSchedule(hrSampler, known.Label))
        {
            string used = A1111Samplers.ScheduleUsed(hrSampler, known.Label);
            if (used != firstPassRecorded) b.Set("Hires schedule type", used);
        }

        if (request.HrResizeX == 0 && request.HrResizeY == 0) b.Set("Hires upscale", request.HrScale);
        else b.Set("Hires resize", $"{request.HrResizeX}x{request.HrResizeY}");
        if (request.HrSecondPassSteps != 0) b.Set("Hires steps", request.HrSecondPassSteps);
        b.Set("Hires upscaler", request.HrUpscaler);
    }

    /// <summary>The inpainting keys in the order <c>StableDiffusionProcessingImg2Img.init</c> adds them.</summary>
    private static void AddMaskParameters(InfotextBuilder b, GenerationRequest request, InfotextFacts facts)
    {
        if (request.Mask == null) return;
        if (request.InpaintingMaskInvert != 0) b.Set("Mask mode", "Inpaint not masked");
        // A1111's mask_blur is None, so not written, when the two directions differ.
        if (request.MaskBlurX > 0 || request.MaskBlurY > 0)
            b.Set("Mask blur", request.MaskBlurX == request.MaskBlurY ? request.MaskBlurX : null);
        // A blank mask with "only masked" turns the job into plain img2img: no mask is applied at all.
        bool maskApplied = !(request.InpaintFullRes && facts.MaskWasBlank);
        if (request.InpaintFullRes && maskApplied)
            b.Set("Inpaint area", "Only masked").Set("Masked area padding", request.InpaintFullResPadding);
        if (maskApplied)
        {
            b.Set("Masked content", request.InpaintingFill switch
            {
                0 => "fill",
                2 => "latent noise",
                3 => "latent nothing",
                _ => null, // 1, "original", is the default and not written
            });
        }
    }

    /// <summary>"name: hash, name: hash", names without ':' and ',' (which would break the list when read back).</summary>
    private static string? NetworkList(IReadOnlyList<NetworkHash> networks, bool distinct)
    {
        var entries = new List<KeyValuePair<string, string>>();
        foreach (var network in networks)
        {
            if (network.ShortHash.Length == 0) continue;
            string name = network.Name.Replace(":", "").Replace(",", "");
            int existing = distinct ? entries.FindIndex(e => e.Key == name) : -1;
            if (existing >= 0) entries[existing] = new(name, network.ShortHash);
            else entries.Add(new(name, network.ShortHash));
        }
        return entries.Count == 0 ? null : string.Join(", ", entries.Select(e => $"{e.Key}: {e.Value}"));
    }

    /// <summary>A1111's "RNG" values: absent for its default GPU (CUDA torch.randn), "CPU" or "NV" otherwise.</summary>
    private static string RngLabel(string rng) => rng.ToLowerInvariant() switch
    {
        "cpu" => "CPU",
        // Our "gpu" is A1111's NV generator: CUDA's own randn is not reproducible outside CUDA, so say what ran.
        "nv" or "gpu" => "NV",
        _ => throw new InvalidInputException($"unknown RNG \"{rng}\" (cpu, nv or gpu)"),
    };

    private static string ProgramVersion()
    {
        string? version = typeof(InfotextFactory).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return version?.Split('+')[0] ?? "0.0.0";
    }
}
