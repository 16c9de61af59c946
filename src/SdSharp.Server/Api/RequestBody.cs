using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace SdSharp.Server.Api;

/// <summary>
/// Reads a JSON request body into its model. What pydantic would refuse (malformed JSON, a value of the wrong
/// type) is a 422 naming the field; Kestrel's body size limit answers 413 before any of it is parsed.
/// </summary>
internal static class RequestBody
{
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class
    {
        if (context.Request.ContentLength == 0) throw ApiException.Invalid(null, "field required", "value_error.missing");
        try
        {
            var value = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
            return value ?? throw ApiException.Invalid(null, "value is not a valid dict", "type_error.dict");
        }
        catch (JsonException e)
        {
            throw ToValidationError(e);
        }
    }

    private static ApiException ToValidationError(JsonException e)
    {
        string path = e.Path ?? "$";
        // Our lenient converters already speak pydantic.
        if (e.Message.StartsWith("value ", StringComparison.Ordinal) || e.Message.StartsWith("ensure ", StringComparison.Ordinal))
            return Issue(path, e.Message, e.Message.Contains("integer", StringComparison.Ordinal) ? "type_error.integer" : "type_error.bool");
        if (!e.Message.Contains("could not be converted to ", StringComparison.Ordinal))
            return ApiException.At([Json.Of(e.BytePositionInLine ?? 0)], "invalid JSON", "value_error.jsondecode");
        var (message, kind) = e.Message switch
        {
            _ when path == "$" => ("value is not a valid dict", "dict"),
            var m when m.Contains("System.String", StringComparison.Ordinal) => ("str type expected", "str"),
            var m when m.Contains("System.Double", StringComparison.Ordinal) => ("value is not a valid float", "float"),
            var m when m.Contains("System.Collections.Generic.List", StringComparison.Ordinal) => ("value is not a valid list", "list"),
            var m when m.Contains("System.Collections.Generic.Dictionary", StringComparison.Ordinal) => ("value is not a valid dict", "dict"),
            _ => ("invalid value", "value"),
        };
        return Issue(path, message, "type_error." + kind);
    }

    /// <summary>"$.init_images[0]" → ["body", "init_images", 0], as pydantic locates the error.</summary>
    private static ApiException Issue(string path, string message, string type)
    {
        var loc = new List<JsonElement>();
        foreach (string part in path.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            int bracket = part.IndexOf('[');
            string name = bracket < 0 ? part : part[..bracket];
            if (name.Length > 0) loc.Add(Json.Of(name));
            if (bracket >= 0 && int.TryParse(part[(bracket + 1)..part.IndexOf(']')], out int index)) loc.Add(Json.Of(index));
        }
        return ApiException.At(loc, message, type);
    }
}
