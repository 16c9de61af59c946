using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SdSharp.Server.Api;

// pydantic (which A1111's API validates with) coerces where System.Text.Json would refuse: an integer field
// takes 20.0 or "20", a boolean field takes 0/1 and "true"/"yes"/"on". Clients written against A1111 rely on
// it, so these converters accept the same, and refuse everything else with pydantic's messages.

internal sealed class LenientInt32Converter : JsonConverter<int>
{
    public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        long value = LenientInt64Converter.ReadInteger(ref reader);
        if (value is < int.MinValue or > int.MaxValue) throw new JsonException("ensure this value is within the 32-bit integer range");
        return (int)value;
    }

    public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}

internal sealed class LenientInt64Converter : JsonConverter<long>
{
    public override long Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => ReadInteger(ref reader);

    public override void Write(Utf8JsonWriter writer, long value, JsonSerializerOptions options) => writer.WriteNumberValue(value);

    internal static long ReadInteger(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetInt64(out long whole)) return whole;
            if (reader.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9.2e18) return (long)d;
        }
        else if (reader.TokenType == JsonTokenType.String &&
                 long.TryParse(reader.GetString(), NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite,
                     CultureInfo.InvariantCulture, out long parsed))
            return parsed;
        throw new JsonException("value is not a valid integer");
    }
}

internal sealed class LenientBooleanConverter : JsonConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True: return true;
            case JsonTokenType.False: return false;
            case JsonTokenType.Number when reader.TryGetInt64(out long n) && n is 0 or 1: return n == 1;
            case JsonTokenType.String:
                switch (reader.GetString()?.Trim().ToLowerInvariant())
                {
                    case "1" or "true" or "t" or "yes" or "y" or "on": return true;
                    case "0" or "false" or "f" or "no" or "n" or "off": return false;
                }
                break;
        }
        throw new JsonException("value could not be parsed to a boolean");
    }

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}
