using System.Text.Json;
using SdSharp.Server.Api;

namespace SdSharp.Server;

/// <summary>
/// The A1111 options (<c>shared.opts</c>) this server honours, with A1111's names and defaults, except
/// <c>randn_source</c>: A1111's default "GPU" is CUDA's own generator, which nothing else reproduces, so the
/// default here is torch's CPU generator. Immutable: a change makes a new instance.
/// </summary>
public sealed record ServerSettings
{
    public int ClipStopAtLastLayers { get; init; } = 1;
    public long EtaNoiseSeedDelta { get; init; }
    public string RandnSource { get; init; } = "CPU";
    public int ShowProgressEveryNSteps { get; init; } = 10;
    public bool LivePreviewsEnable { get; init; } = true;

    private static readonly string[] RandnSources = ["GPU", "CPU", "NV"];

    /// <summary>The request's rng name for the generator.</summary>
    public string Rng => RandnSource.ToLowerInvariant();

    /// <summary>
    /// This instance with one option changed, or a 422 for a value of the wrong type or out of range.
    /// Returns null for a key that is not one of the settable options.
    /// </summary>
    public ServerSettings? With(string key, JsonElement value) => key switch
    {
        "CLIP_stop_at_last_layers" => this with { ClipStopAtLastLayers = (int)Integer(key, value, 1, 12) },
        "eta_noise_seed_delta" => this with { EtaNoiseSeedDelta = Integer(key, value, 0, uint.MaxValue) },
        "randn_source" => this with { RandnSource = Choice(key, value, RandnSources) },
        "show_progress_every_n_steps" => this with { ShowProgressEveryNSteps = (int)Integer(key, value, -1, 1000) },
        "live_previews_enable" => this with { LivePreviewsEnable = Bool(key, value) },
        _ => null,
    };

    /// <summary>These options as A1111's GET /options lists them.</summary>
    public void WriteTo(Dictionary<string, JsonElement> options)
    {
        options["CLIP_stop_at_last_layers"] = Json.Of(ClipStopAtLastLayers);
        options["eta_noise_seed_delta"] = Json.Of(EtaNoiseSeedDelta);
        options["randn_source"] = Json.Of(RandnSource);
        options["show_progress_every_n_steps"] = Json.Of(ShowProgressEveryNSteps);
        options["live_previews_enable"] = Json.Of(LivePreviewsEnable);
    }

    private static long Integer(string key, JsonElement value, long min, long max)
    {
        long n = value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out long l) => l,
            JsonValueKind.Number when value.TryGetDouble(out double d) && d == Math.Floor(d) => (long)d,
            _ => throw ApiException.Invalid(key, "value is not a valid integer", "type_error.integer"),
        };
        if (n < min || n > max) throw ApiException.Invalid(key, $"ensure this value is between {min} and {max}");
        return n;
    }

    private static bool Bool(string key, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw ApiException.Invalid(key, "value could not be parsed to a boolean", "type_error.bool"),
    };

    private static string Choice(string key, JsonElement value, string[] choices)
    {
        string? s = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return choices.FirstOrDefault(c => string.Equals(c, s, StringComparison.OrdinalIgnoreCase))
            ?? throw ApiException.Invalid(key, $"expected one of {string.Join(", ", choices)}");
    }
}
