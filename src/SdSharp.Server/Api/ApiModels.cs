using System.Text.Json;
using System.Text.Json.Serialization;

namespace SdSharp.Server.Api;

// Response shapes of A1111's modules/api/models.py, with its field names (snake_case through the JSON context).

/// <summary>txt2img/img2img: base64 PNGs, the request echoed, and <c>info</c> as a JSON string.</summary>
public sealed class GenerationResponse
{
    public List<string> Images { get; set; } = [];
    public required ProcessingRequest Parameters { get; set; }
    public required string Info { get; set; }
}

/// <summary>A1111's <c>Processed.js()</c>, serialized into the response's <c>info</c> string.</summary>
public sealed class ProcessedInfo
{
    public string Prompt { get; set; } = "";
    public List<string> AllPrompts { get; set; } = [];
    public string NegativePrompt { get; set; } = "";
    public List<string> AllNegativePrompts { get; set; } = [];
    public long Seed { get; set; }
    public List<long> AllSeeds { get; set; } = [];
    public long Subseed { get; set; }
    public List<long> AllSubseeds { get; set; } = [];
    public double SubseedStrength { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    public string SamplerName { get; set; } = "";
    public double CfgScale { get; set; }
    public int Steps { get; set; }
    public int BatchSize { get; set; }
    public bool RestoreFaces { get; set; }
    public string? FaceRestorationModel { get; set; }
    public string? SdModelName { get; set; }
    public string? SdModelHash { get; set; }
    public string? SdVaeName { get; set; }
    public string? SdVaeHash { get; set; }
    public int SeedResizeFromW { get; set; }
    public int SeedResizeFromH { get; set; }
    public double? DenoisingStrength { get; set; }
    public Dictionary<string, JsonElement> ExtraGenerationParams { get; set; } = [];
    public int IndexOfFirstImage { get; set; }
    public List<string> Infotexts { get; set; } = [];
    public List<string> Styles { get; set; } = [];
    public string JobTimestamp { get; set; } = "";
    public int ClipSkip { get; set; }
    public bool IsUsingInpaintingConditioning { get; set; }
    public string? Version { get; set; }
}

public sealed class ProgressResponse
{
    public double Progress { get; set; }
    public double EtaRelative { get; set; }
    public required ProgressStateDto State { get; set; }
    public string? CurrentImage { get; set; }
    public string? Textinfo { get; set; }
    /// <summary>The running job's task id (A1111 passes it too; the web UI uses it to tell its own job from others).</summary>
    public string? CurrentTask { get; set; }
    /// <summary>Jobs waiting behind the running one (SdSharp's addition).</summary>
    public int QueueSize { get; set; }
}

/// <summary>A1111's <c>shared.state.dict()</c>.</summary>
public sealed class ProgressStateDto
{
    public bool Skipped { get; set; }
    public bool Interrupted { get; set; }
    public bool StoppingGeneration { get; set; }
    public string Job { get; set; } = "";
    public int JobCount { get; set; }
    public string JobTimestamp { get; set; } = "0";
    public int JobNo { get; set; }
    public int SamplingStep { get; set; }
    public int SamplingSteps { get; set; }
}

public sealed class SamplerItem
{
    public required string Name { get; set; }
    public required List<string> Aliases { get; set; }
    public required Dictionary<string, JsonElement> Options { get; set; }
}

public sealed class SchedulerItem
{
    public required string Name { get; set; }
    public required string Label { get; set; }
    public List<string>? Aliases { get; set; }
    public double? DefaultRho { get; set; }
    public bool? NeedInnerModel { get; set; }
}

public sealed class UpscalerItem
{
    public required string Name { get; set; }
    public string? ModelName { get; set; }
    public string? ModelPath { get; set; }
    public string? ModelUrl { get; set; }
    public double? Scale { get; set; }
}

public sealed class NameItem
{
    public required string Name { get; set; }
}

public sealed class SdModelItem
{
    public required string Title { get; set; }
    public required string ModelName { get; set; }
    public string? Hash { get; set; }
    public string? Sha256 { get; set; }
    public required string Filename { get; set; }
    public string? Config { get; set; }
}

public sealed class PngInfoRequest
{
    public string? Image { get; set; }
}

public sealed class PngInfoResponse
{
    public string Info { get; set; } = "";
    public Dictionary<string, string> Items { get; set; } = [];
    public Dictionary<string, JsonElement> Parameters { get; set; } = [];
}

public sealed class EmbeddingItem
{
    public int? Step { get; set; }
    public string? SdCheckpoint { get; set; }
    public string? SdCheckpointName { get; set; }
    public int Shape { get; set; }
    public int Vectors { get; set; }
}

public sealed class EmbeddingsResponse
{
    public Dictionary<string, EmbeddingItem> Loaded { get; set; } = [];
    public Dictionary<string, EmbeddingItem> Skipped { get; set; } = [];
}

public sealed class HypernetworkItem
{
    public required string Name { get; set; }
    public required string Path { get; set; }
}

public sealed class LoraItem
{
    public required string Name { get; set; }
    public required string Alias { get; set; }
    public required string Path { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
}

public sealed class MemoryResponse
{
    public required Dictionary<string, JsonElement> Ram { get; set; }
    public required Dictionary<string, JsonElement> Cuda { get; set; }
}

public sealed class ScriptsList
{
    public List<string> Txt2img { get; set; } = [];
    public List<string> Img2img { get; set; } = [];
}

/// <summary>A1111's error body: <c>{error, detail, body, errors}</c>.</summary>
public sealed class ErrorBody
{
    public required string Error { get; set; }
    public required JsonElement Detail { get; set; }
    public string Body { get; set; } = "";
    public required string Errors { get; set; }
}

/// <summary>One entry of a validation error's detail list (pydantic's loc/msg/type).</summary>
public sealed class ValidationIssue
{
    public required List<JsonElement> Loc { get; set; }
    public required string Msg { get; set; }
    public required string Type { get; set; }
}

public sealed class EmptyObject;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    Converters = [typeof(LenientInt32Converter), typeof(LenientInt64Converter), typeof(LenientBooleanConverter)])]
[JsonSerializable(typeof(Txt2ImgRequest))]
[JsonSerializable(typeof(Img2ImgRequest))]
[JsonSerializable(typeof(GenerationResponse))]
[JsonSerializable(typeof(ProcessedInfo))]
[JsonSerializable(typeof(ProgressResponse))]
[JsonSerializable(typeof(List<SamplerItem>))]
[JsonSerializable(typeof(List<SchedulerItem>))]
[JsonSerializable(typeof(List<UpscalerItem>))]
[JsonSerializable(typeof(List<NameItem>))]
[JsonSerializable(typeof(List<SdModelItem>))]
[JsonSerializable(typeof(PngInfoRequest))]
[JsonSerializable(typeof(PngInfoResponse))]
[JsonSerializable(typeof(EmbeddingsResponse))]
[JsonSerializable(typeof(List<LoraItem>))]
[JsonSerializable(typeof(List<HypernetworkItem>))]
[JsonSerializable(typeof(MemoryResponse))]
[JsonSerializable(typeof(ScriptsList))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(List<ValidationIssue>))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(List<JsonElement>))]
[JsonSerializable(typeof(EmptyObject))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(bool))]
public sealed partial class ApiJson : JsonSerializerContext
{
    /// <summary>
    /// The context every endpoint uses: like <see cref="Default"/>, but writing "+", "&lt;" and non-ASCII text as
    /// is (JSON allows it; the default encoder's \u002B escapes read badly in prompts and sampler names).
    /// </summary>
    // Made on first use: static initializers of the generated half of this class may run after ours.
    public static ApiJson Web => s_web ??= new(new JsonSerializerOptions(Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = null,
    });

    private static ApiJson? s_web;
}
