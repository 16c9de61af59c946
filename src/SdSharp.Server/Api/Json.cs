using System.Globalization;
using System.Text.Json;

namespace SdSharp.Server.Api;

/// <summary>Small JSON values for the dictionaries the API returns, made without reflection.</summary>
internal static class Json
{
    public static JsonElement Of(string? value) => value == null ? Null : JsonSerializer.SerializeToElement(value, ApiJson.Web.String);

    public static JsonElement Of(long value) => JsonSerializer.SerializeToElement(value, ApiJson.Web.Int64);

    public static JsonElement Of(double value) => JsonSerializer.SerializeToElement(value, ApiJson.Web.Double);

    public static JsonElement Of(bool value) => JsonSerializer.SerializeToElement(value, ApiJson.Web.Boolean);

    public static JsonElement Null { get; } = JsonDocument.Parse("null").RootElement.Clone();

    /// <summary>An infotext value the way A1111 keeps it in extra_generation_params: numbers as numbers, the rest as text.</summary>
    public static JsonElement FromInfotextValue(string value)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return Of(l);
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)) return Of(d);
        return Of(value);
    }
}
