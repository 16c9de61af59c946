using System.Text.Json;
using SdSharp.Generation;
using SdSharp.Imaging;
using SdSharp.Sampling;
using SdSharp.Server.Models;

namespace SdSharp.Server.Api;

/// <summary>A validated request: what to generate, on which checkpoint, and the options in force for it.</summary>
public sealed record GenerationJob(GenerationRequest Request, CheckpointEntry? Checkpoint, ServerSettings Settings, bool SaveImages, bool KeepSettings);

/// <summary>
/// Turns an A1111 txt2img/img2img body into a <see cref="GenerationRequest"/>, applying A1111's defaults for
/// nulls and refusing, with a 4xx, what SdSharp cannot do rather than quietly doing something else.
/// </summary>
public sealed class RequestMapper(ModelCatalog catalog)
{
    /// <summary>Hires upscalers the generator implements: A1111's bilinear and nearest latent modes, and Lanczos.</summary>
    public static readonly string[] LatentUpscaleModes = ["Latent", "Latent (nearest)"];
    public static readonly string[] ImageUpscalers = ["None", "Lanczos"];

    public GenerationJob Map(Txt2ImgRequest body, ServerSettings settings)
    {
        var (request, checkpoint, effective, keep) = Common(body, settings);
        if (body.EnableHr ?? false)
        {
            string? upscaler = body.HrUpscaler;
            if (upscaler != null && !LatentUpscaleModes.Contains(upscaler) && !ImageUpscalers.Contains(upscaler))
                throw ApiException.Invalid("hr_upscaler", $"upscaler '{upscaler}' is not available; use one of {string.Join(", ", LatentUpscaleModes.Concat(ImageUpscalers))}");
            if (!string.IsNullOrEmpty(body.HrCheckpointName) && body.HrCheckpointName != "Use same checkpoint" && catalog.Find(body.HrCheckpointName) != checkpoint)
                throw ApiException.Invalid("hr_checkpoint_name", "a different checkpoint for the hires pass is not supported");
            string? hrSampler = body.HrSamplerName is null or "Use same sampler" ? null : body.HrSamplerName;
            string? hrScheduler = body.HrScheduler is null or "Use same scheduler" ? null : body.HrScheduler;
            if (hrSampler != null || hrScheduler != null) ResolveSampler(hrSampler ?? request.SamplerName, hrScheduler, "hr_scheduler");
            request = request with
            {
                EnableHr = true,
                HrScale = Range("hr_scale", body.HrScale ?? 2.0, 1.0, 8.0),
                HrUpscaler = upscaler == "None" ? "Lanczos" : upscaler,
                HrSecondPassSteps = (int)Range("hr_second_pass_steps", body.HrSecondPassSteps ?? 0, 0, 1000),
                HrResizeX = (int)Range("hr_resize_x", body.HrResizeX ?? 0, 0, MaxSide),
                HrResizeY = (int)Range("hr_resize_y", body.HrResizeY ?? 0, 0, MaxSide),
                HrSamplerName = hrSampler,
                HrScheduler = hrScheduler,
                HrPrompt = body.HrPrompt ?? "",
                HrNegativePrompt = body.HrNegativePrompt ?? "",
                DenoisingStrength = Strength(body.DenoisingStrength),
            };
            // Legacy A1111: a first-phase size makes width/height the hires target.
            if ((body.FirstphaseWidth ?? 0) > 0 && (body.FirstphaseHeight ?? 0) > 0)
                request = request with
                {
                    HrResizeX = request.Width, HrResizeY = request.Height,
                    Width = Side("firstphase_width", body.FirstphaseWidth), Height = Side("firstphase_height", body.FirstphaseHeight),
                };
        }
        return new GenerationJob(request, checkpoint, effective, body.SaveImages ?? false, keep);
    }

    public GenerationJob Map(Img2ImgRequest body, ServerSettings settings)
    {
        // A1111 answers a missing init image with 404 before anything else.
        if (body.InitImages == null) throw new ApiException(404, "Init image not found");
        var (request, checkpoint, effective, keep) = Common(body, settings);
        if (body.InitImages.Count == 0) throw ApiException.Invalid("init_images", "at least one init image is needed");
        if (body.InitImages.Count > 1) throw ApiException.Invalid("init_images", "only one init image is supported");
        if (body.LatentMask != null) throw ApiException.Invalid("latent_mask", "a separate latent mask is not supported");
        var init = Base64Image.Decode(body.InitImages[0], "init_images", 0);
        var mask = body.Mask == null ? null : Base64Image.Decode(body.Mask, "mask", null);
        int blurX = body.MaskBlur ?? body.MaskBlurX ?? 4, blurY = body.MaskBlur ?? body.MaskBlurY ?? 4;
        request = request with
        {
            InitImages = [init],
            Mask = mask,
            ResizeMode = (int)Range("resize_mode", body.ResizeMode ?? 0, 0, 3),
            DenoisingStrength = Strength(body.DenoisingStrength) ?? 0.75,
            MaskBlurX = (int)Range("mask_blur_x", blurX, 0, 256),
            MaskBlurY = (int)Range("mask_blur_y", blurY, 0, 256),
            MaskRound = body.MaskRound ?? true,
            InpaintingFill = (int)Range("inpainting_fill", body.InpaintingFill ?? 0, 0, 3),
            InpaintFullRes = body.InpaintFullRes ?? true,
            InpaintFullResPadding = (int)Range("inpaint_full_res_padding", body.InpaintFullResPadding ?? 0, 0, MaxSide),
            InpaintingMaskInvert = (int)Range("inpainting_mask_invert", body.InpaintingMaskInvert ?? 0, 0, 1),
            InitialNoiseMultiplier = body.InitialNoiseMultiplier ?? 1.0,
            ImageCfgScale = body.ImageCfgScale,
        };
        return new GenerationJob(request, checkpoint, effective, body.SaveImages ?? false, keep);
    }

    private const int MaxSide = 8192;

    private (GenerationRequest, CheckpointEntry?, ServerSettings, bool Keep) Common(ProcessingRequest body, ServerSettings settings)
    {
        if (!string.IsNullOrEmpty(body.ScriptName)) throw ApiException.Invalid("script_name", $"Script '{body.ScriptName}' not found");
        if (body.AlwaysonScripts is { Count: > 0 } scripts) throw ApiException.Invalid("alwayson_scripts", $"always on script {scripts.Keys.First()} not found");
        if (body.RestoreFaces == true) throw ApiException.Invalid("restore_faces", "face restoration is not available");
        if (body.SMinUncond is > 0) throw ApiException.Invalid("s_min_uncond", "negative guidance minimum sigma is not supported");
        string? refiner = body.RefinerCheckpoint is { Length: > 0 } named && named != "None" ? named : null;
        if (refiner != null && catalog.Find(refiner) == null) throw ApiException.Invalid("refiner_checkpoint", $"Checkpoint {refiner} not found");
        if (body.FirstpassImage != null) throw ApiException.Invalid("firstpass_image", "a given first-pass image is not supported");
        if (!string.IsNullOrEmpty(body.Infotext)) throw ApiException.Invalid("infotext", "filling fields from an infotext is not supported; send the fields");

        var (effective, checkpoint) = ApplyOverrides(body.OverrideSettings, settings);
        string samplerName = body.SamplerName ?? body.SamplerIndex ?? "Euler";
        ResolveSampler(samplerName, body.Scheduler, "scheduler");
        var request = new GenerationRequest
        {
            Prompt = body.Prompt ?? "",
            NegativePrompt = body.NegativePrompt ?? "",
            Seed = body.Seed ?? -1,
            Subseed = body.Subseed ?? -1,
            SubseedStrength = Range("subseed_strength", body.SubseedStrength ?? 0, 0, 1),
            SeedResizeFromH = body.SeedResizeFromH ?? -1,
            SeedResizeFromW = body.SeedResizeFromW ?? -1,
            Rng = effective.Rng,
            EtaNoiseSeedDelta = effective.EtaNoiseSeedDelta,
            SamplerName = samplerName,
            Scheduler = body.Scheduler,
            Steps = (int)Range("steps", body.Steps ?? 50, 1, 1000),
            CfgScale = Range("cfg_scale", body.CfgScale ?? 7.0, 0, 100),
            Eta = body.Eta,
            SChurn = body.SChurn,
            STmin = body.STmin,
            STmax = body.STmax,
            SNoise = body.SNoise,
            ClipSkip = effective.ClipStopAtLastLayers,
            Width = Side("width", body.Width ?? 512),
            Height = Side("height", body.Height ?? 512),
            BatchSize = (int)Range("batch_size", body.BatchSize ?? 1, 1, 64),
            NIter = (int)Range("n_iter", body.NIter ?? 1, 1, 1000),
            Tiling = body.Tiling ?? false,
            RefinerCheckpoint = refiner,
            RefinerSwitchAt = body.RefinerSwitchAt is double at ? Range("refiner_switch_at", at, 0, 1) : null,
        };
        return (request, checkpoint, effective, body.OverrideSettingsRestoreAfterwards == false);
    }

    /// <summary>
    /// override_settings for this request: the options SdSharp honours are checked and applied, a checkpoint
    /// A1111 would not find is dropped (as A1111 drops it), other options are ignored.
    /// </summary>
    private (ServerSettings, CheckpointEntry?) ApplyOverrides(Dictionary<string, JsonElement>? overrides, ServerSettings settings)
    {
        CheckpointEntry? checkpoint = null;
        if (overrides == null) return (settings, null);
        foreach (var (key, value) in overrides)
        {
            if (key == "sd_model_checkpoint")
            {
                checkpoint = value.ValueKind == JsonValueKind.String ? catalog.Find(value.GetString()) : null;
                continue;
            }
            try
            {
                settings = settings.With(key, value) ?? settings;
            }
            catch (ApiException e) when (e.Issues != null)
            {
                throw ApiException.Invalid("override_settings", $"{key}: {e.Issues[0].Msg}");
            }
        }
        return (settings, checkpoint);
    }

    /// <summary>A1111's sampler lookup: an unknown sampler is 400 "Sampler not found"; an unknown schedule type is refused too.</summary>
    private static void ResolveSampler(string? sampler, string? scheduler, string schedulerField)
    {
        if (ScheduleType.Find(scheduler) == null)
            throw ApiException.Invalid(schedulerField, $"unknown schedule type '{scheduler}'; expected one of {string.Join(", ", ScheduleType.All.Select(s => s.Label))}");
        try
        {
            SamplerInfo.Resolve(sampler, scheduler);
        }
        catch (InvalidInputException)
        {
            throw new ApiException(400, "Sampler not found");
        }
    }

    private static double? Strength(double? value) => value is double d ? Range("denoising_strength", d, 0, 1) : null;

    private static int Side(string field, int? value)
    {
        int v = value ?? 512;
        if (v < 8 || v > MaxSide || v % 8 != 0) throw ApiException.Invalid(field, $"must be a multiple of 8 between 8 and {MaxSide}, got {v}");
        return v;
    }

    private static double Range(string field, double value, double min, double max)
    {
        if (!double.IsFinite(value) || value < min || value > max)
            throw ApiException.Invalid(field, $"ensure this value is between {min} and {max}");
        return value;
    }
}
