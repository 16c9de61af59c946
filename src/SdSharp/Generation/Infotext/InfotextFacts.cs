namespace SdSharp.Generation.Infotext;

/// <summary>A LoRA or textual-inversion embedding as the infotext names it: the name used in the prompt and its short hash.</summary>
public sealed record NetworkHash(string Name, string ShortHash);

/// <summary>
/// What the pipeline knows about one finished image beyond the <see cref="GenerationRequest"/>: the seeds it
/// actually used, the model files, the networks that were applied. Everything left null is derived from the
/// request the way A1111 derives it, or not written.
/// </summary>
public sealed record InfotextFacts
{
    /// <summary>This image's seed (the request's seed, made concrete, plus the image's index).</summary>
    public required long Seed { get; init; }

    /// <summary>This image's variation seed; written only when the request's variation strength is not 0.</summary>
    public long Subseed { get; init; }

    /// <summary>This image's prompt when it differs from the request's (styles, per-image prompts).</summary>
    public string? Prompt { get; init; }

    public string? NegativePrompt { get; init; }

    /// <summary>The schedule label the sampler used ("Karras"); null derives it from the sampler as A1111 does.</summary>
    public string? ScheduleType { get; init; }

    /// <summary>The first pass's size, when it differs from the request's.</summary>
    public int? Width { get; init; }

    public int? Height { get; init; }

    /// <summary>The checkpoint's file name without its extension (A1111's <c>name_for_extra</c>).</summary>
    public string? ModelName { get; init; }

    /// <summary>The first 10 hex digits of the checkpoint file's SHA-256 (<see cref="ModelHashes.ShortHash"/>).</summary>
    public string? ModelHash { get; init; }

    /// <summary>A separate VAE's file name, extension included; null when the checkpoint's own VAE was used.</summary>
    public string? VaeName { get; init; }

    public string? VaeHash { get; init; }

    /// <summary>The img2img or hires denoising strength actually used; null takes the request's (or its default).</summary>
    public double? DenoisingStrength { get; init; }

    /// <summary>Set for inpainting models (A1111's inpainting mask weight, 1.0 unless changed).</summary>
    public double? ConditionalMaskWeight { get; init; }

    /// <summary>
    /// The inpainting mask was empty, so "inpaint only masked" fell back to the whole picture (A1111 then writes
    /// neither the inpaint area nor the masked content).
    /// </summary>
    public bool MaskWasBlank { get; init; }

    /// <summary>LoRAs in the order they were activated, with 12-hex-digit short hashes.</summary>
    public IReadOnlyList<NetworkHash> Loras { get; init; } = [];

    /// <summary>Textual-inversion embeddings the prompts used, with 12-hex-digit short hashes.</summary>
    public IReadOnlyList<NetworkHash> Embeddings { get; init; } = [];

    /// <summary>The refiner that took over, as A1111's short title "name [hash]"; null when none ran.</summary>
    public string? Refiner { get; init; }

    /// <summary>The "Version" value; null leaves it out.</summary>
    public string? Version { get; init; } = InfotextFactory.SdSharpVersion;

    /// <summary>The "User" value (A1111 writes the logged-in user when asked to); null leaves it out.</summary>
    public string? User { get; init; }
}
