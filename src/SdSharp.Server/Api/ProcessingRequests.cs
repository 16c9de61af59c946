using System.Text.Json;
using System.Text.Json.Serialization;

namespace SdSharp.Server.Api;

/// <summary>
/// The body of <c>/sdapi/v1/txt2img</c> and <c>img2img</c>: A1111's pydantic model, field for field, with its
/// defaults. Every field is optional and may be null (pydantic's <c>Optional[...]</c>); a null where A1111 has
/// a value default means that default. The object is echoed back as the response's <c>parameters</c>, so
/// fields SdSharp does not act on are kept too. Unknown fields are ignored, as pydantic ignores them.
/// </summary>
// Echoed as its own type (no discriminator): the response's parameters carry every txt2img or img2img field.
[JsonDerivedType(typeof(Txt2ImgRequest))]
[JsonDerivedType(typeof(Img2ImgRequest))]
public abstract class ProcessingRequest
{
    public string? Prompt { get; set; } = "";
    public string? NegativePrompt { get; set; } = "";
    public List<string>? Styles { get; set; }
    public long? Seed { get; set; } = -1;
    public long? Subseed { get; set; } = -1;
    public double? SubseedStrength { get; set; } = 0;
    public int? SeedResizeFromH { get; set; } = -1;
    public int? SeedResizeFromW { get; set; } = -1;
    public string? SamplerName { get; set; }
    public string? Scheduler { get; set; }
    public int? BatchSize { get; set; } = 1;
    public int? NIter { get; set; } = 1;
    public int? Steps { get; set; } = 50;
    public double? CfgScale { get; set; } = 7.0;
    public int? Width { get; set; } = 512;
    public int? Height { get; set; } = 512;
    public bool? RestoreFaces { get; set; }
    public bool? Tiling { get; set; }
    public bool? DoNotSaveSamples { get; set; } = false;
    public bool? DoNotSaveGrid { get; set; } = false;
    public double? Eta { get; set; }
    public double? SMinUncond { get; set; }
    public double? SChurn { get; set; }
    public double? STmax { get; set; }
    public double? STmin { get; set; }
    public double? SNoise { get; set; }
    public Dictionary<string, JsonElement>? OverrideSettings { get; set; }
    public bool? OverrideSettingsRestoreAfterwards { get; set; } = true;
    public string? RefinerCheckpoint { get; set; }
    public double? RefinerSwitchAt { get; set; }
    public bool? DisableExtraNetworks { get; set; } = false;
    public string? FirstpassImage { get; set; }
    public JsonElement? Comments { get; set; }
    /// <summary>Legacy: used when <see cref="SamplerName"/> is null.</summary>
    public string? SamplerIndex { get; set; } = "Euler";
    public string? ScriptName { get; set; }
    public List<JsonElement>? ScriptArgs { get; set; } = [];
    public bool? SendImages { get; set; } = true;
    public bool? SaveImages { get; set; } = false;
    public Dictionary<string, JsonElement>? AlwaysonScripts { get; set; } = [];
    public string? ForceTaskId { get; set; }
    public string? Infotext { get; set; }

    /// <summary>The denoising strength; its default differs between the two requests.</summary>
    public abstract double? DenoisingStrength { get; set; }
}

public sealed class Txt2ImgRequest : ProcessingRequest
{
    // A1111's schema has null here (the base class's default wins over txt2img's 0.75); the hires pass then uses 0.7.
    public override double? DenoisingStrength { get; set; }
    public bool? EnableHr { get; set; } = false;
    public int? FirstphaseWidth { get; set; } = 0;
    public int? FirstphaseHeight { get; set; } = 0;
    public double? HrScale { get; set; } = 2.0;
    public string? HrUpscaler { get; set; }
    public int? HrSecondPassSteps { get; set; } = 0;
    public int? HrResizeX { get; set; } = 0;
    public int? HrResizeY { get; set; } = 0;
    public string? HrCheckpointName { get; set; }
    public string? HrSamplerName { get; set; }
    public string? HrScheduler { get; set; }
    public string? HrPrompt { get; set; } = "";
    public string? HrNegativePrompt { get; set; } = "";
}

public sealed class Img2ImgRequest : ProcessingRequest
{
    public List<string>? InitImages { get; set; }
    public int? ResizeMode { get; set; } = 0;
    public override double? DenoisingStrength { get; set; } = 0.75;
    public double? ImageCfgScale { get; set; }
    public string? Mask { get; set; }
    public int? MaskBlurX { get; set; } = 4;
    public int? MaskBlurY { get; set; } = 4;
    /// <summary>Sets both blur directions when given.</summary>
    public int? MaskBlur { get; set; }
    public bool? MaskRound { get; set; } = true;
    public int? InpaintingFill { get; set; } = 0;
    public bool? InpaintFullRes { get; set; } = true;
    public int? InpaintFullResPadding { get; set; } = 0;
    public int? InpaintingMaskInvert { get; set; } = 0;
    public double? InitialNoiseMultiplier { get; set; }
    public string? LatentMask { get; set; }
    public bool? IncludeInitImages { get; set; } = false;
}
