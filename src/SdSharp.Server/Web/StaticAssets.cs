using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SdSharp.Server.Web;

/// <summary>The web UI's files, embedded in the assembly (no CDN, nothing to build, works offline).</summary>
internal static class StaticAssets
{
    private static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "style.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (route, resource, contentType) in Files)
        {
            byte[] content = Read(resource);
            app.MapGet(route, async context =>
            {
                context.Response.ContentType = contentType;
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers.XContentTypeOptions = "nosniff";
                await context.Response.Body.WriteAsync(content, context.RequestAborted);
            });
        }
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(StaticAssets).Assembly.GetManifestResourceStream("SdSharp.Server.wwwroot." + name)
            ?? throw new InvalidOperationException($"web UI file {name} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
