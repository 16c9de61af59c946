namespace SdSharp.Generation;

/// <summary>
/// Everything one generation needs, with AUTOMATIC1111's field names and its API's defaults (the CLI applies the
/// web UI's own defaults, e.g. 20 steps and DPM++ 2M, before building one). Every front end (CLI, server, tests)
/// builds one of these and hands it to the generator; none re-implements generation.
/// </summary>
public sealed record GenerationRequest
{
    public string Prompt { get; init; } = "";
    public string NegativePrompt { get; init; } = "";

    // ---- seeds ----
    /// <summary>−1 picks a random seed. Image i of the batch uses Seed + i.</summary>
    public long Seed { get; init; } = -1;
    /// <summary>Variation seed (A1111's "subseed"); −1 is random.</summary>
    public long Subseed { get; init; } = -1;
    /// <summary>How far the noise moves towards the variation seed's (slerp), 0..1.</summary>
    public double SubseedStrength { get; init; }
    public int SeedResizeFromH { get; init; } = -1;
    public int SeedResizeFromW { get; init; } = -1;
    /// <summary>"cpu" (torch CPU randn, the default here), "nv" (A1111's Philox), or "gpu" (an alias of nv).</summary>
    public string Rng { get; init; } = "cpu";
    /// <summary>A1111's eta_noise_seed_delta (ENSD).</summary>
    public long EtaNoiseSeedDelta { get; init; }

    // ---- sampling ----
    /// <summary>A1111 sampler name ("Euler a", "DPM++ 2M", legacy "DPM++ 2M Karras" accepted); null is "Euler" as in A1111's API.</summary>
    public string? SamplerName { get; init; }
    /// <summary>Schedule type label ("Automatic", "Karras", ...); null is Automatic (the sampler's default).</summary>
    public string? Scheduler { get; init; }
    public int Steps { get; init; } = 50;
    public double CfgScale { get; init; } = 7.0;
    public double? Eta { get; init; }
    public double? SChurn { get; init; }
    public double? STmin { get; init; }
    public double? STmax { get; init; }
    public double? SNoise { get; init; }
    /// <summary>Skip the last N layers of CLIP (A1111's CLIP_stop_at_last_layers); 1 uses them all. SD 1.x only.</summary>
    public int ClipSkip { get; init; } = 1;

    // ---- size and batches ----
    public int Width { get; init; } = 512;
    public int Height { get; init; } = 512;
    public int BatchSize { get; init; } = 1;
    /// <summary>Number of batches (A1111's n_iter / "Batch count").</summary>
    public int NIter { get; init; } = 1;
    /// <summary>Wrap-around convolutions so the image tiles seamlessly.</summary>
    public bool Tiling { get; init; }

    // ---- img2img and inpainting ----
    /// <summary>Init images (img2img); null for txt2img.</summary>
    public IReadOnlyList<Imaging.Image>? InitImages { get; init; }
    /// <summary>Inpainting mask: white is repainted (unless inverted).</summary>
    public Imaging.Image? Mask { get; init; }
    /// <summary>0 just resize, 1 crop and resize, 2 resize and fill, 3 just resize (latent upscale).</summary>
    public int ResizeMode { get; init; }
    /// <summary>img2img strength; for txt2img the hires pass's. Null means 0.75 (img2img) or 0.7 (hires).</summary>
    public double? DenoisingStrength { get; init; }
    public int MaskBlurX { get; init; } = 4;
    public int MaskBlurY { get; init; } = 4;
    public bool MaskRound { get; init; } = true;
    /// <summary>Masked content: 0 fill, 1 original, 2 latent noise, 3 latent nothing.</summary>
    public int InpaintingFill { get; init; }
    /// <summary>"Inpaint only masked": work on the masked region's bounding box, upscaled to the full size.</summary>
    public bool InpaintFullRes { get; init; } = true;
    public int InpaintFullResPadding { get; init; }
    /// <summary>1 repaints the black part of the mask instead of the white.</summary>
    public int InpaintingMaskInvert { get; init; }
    public double InitialNoiseMultiplier { get; init; } = 1.0;
    public double? ImageCfgScale { get; init; }

    // ---- hires fix (txt2img) ----
    public bool EnableHr { get; init; }
    public double HrScale { get; init; } = 2.0;
    /// <summary>"Latent", "Latent (bicubic)", ..., or an image upscaler; null is "Latent".</summary>
    public string? HrUpscaler { get; init; }
    /// <summary>0 uses the first pass's step count.</summary>
    public int HrSecondPassSteps { get; init; }
    public int HrResizeX { get; init; }
    public int HrResizeY { get; init; }
    public string? HrSamplerName { get; init; }
    public string? HrScheduler { get; init; }
    public string HrPrompt { get; init; } = "";
    public string HrNegativePrompt { get; init; } = "";

    // ---- SDXL refiner ----
    /// <summary>A checkpoint to switch to part-way (SDXL refiner); null for none.</summary>
    public string? RefinerCheckpoint { get; init; }
    /// <summary>Fraction of the steps after which the refiner takes over.</summary>
    public double? RefinerSwitchAt { get; init; }

    /// <summary>A1111 options for this request only (e.g. "CLIP_stop_at_last_layers", "sd_vae").</summary>
    public IReadOnlyDictionary<string, string>? OverrideSettings { get; init; }
}
