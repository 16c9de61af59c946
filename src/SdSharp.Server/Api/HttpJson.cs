using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace SdSharp.Server.Api;

/// <summary>Writes responses through the source-generated JSON context only (the app is trimmed; no reflection).</summary>
internal static class HttpJson
{
    public static async Task Write<T>(HttpContext context, T value, JsonTypeInfo<T> type, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }

    /// <summary>FastAPI's answer for a handler that returns None.</summary>
    public static Task WriteNull(HttpContext context) => Write(context, Json.Null, ApiJson.Web.JsonElement);

    public static Task WriteEmptyObject(HttpContext context) => Write(context, new EmptyObject(), ApiJson.Web.EmptyObject);

    public static Task WriteError(HttpContext context, int status, ErrorBody body) => Write(context, body, ApiJson.Web.ErrorBody, status);
}
