using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;

namespace SdSharp.Server.Api;

/// <summary>Options (including the model switch), command-line flags, memory, PNG info.</summary>
internal static class SystemEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapGet("/sdapi/v1/options", context => HttpJson.Write(context, Options(state), ApiJson.Web.DictionaryStringJsonElement));
        app.MapPost("/sdapi/v1/options", async context =>
        {
            var changes = await RequestBody.ReadAsync(context, ApiJson.Web.DictionaryStringJsonElement);
            await SetOptions(state, changes, context.RequestAborted);
            await HttpJson.WriteNull(context);
        });
        app.MapGet("/sdapi/v1/cmd-flags", context => HttpJson.Write(context, Flags(state), ApiJson.Web.DictionaryStringJsonElement));
        app.MapGet("/sdapi/v1/memory", context => HttpJson.Write(context, Memory(state), ApiJson.Web.MemoryResponse));
        // For the web UI only: what A1111's API has no field for.
        app.MapGet("/internal/sdsharp", context => HttpJson.Write(context, new Dictionary<string, JsonElement>
        {
            ["version"] = Json.Of(InfotextFactory.SdSharpVersion),
            ["model"] = Json.Of(state.SelectedCheckpoint?.Title),
            ["loaded_model"] = Json.Of(state.Model.Entry?.Title),
            ["native_size"] = Json.Of(state.SelectedCheckpoint is { } selected ? state.Model.NativeSizeOf(selected) ?? 0 : 0),
            ["backend"] = Json.Of(state.Model.Backend.Name),
        }, ApiJson.Web.DictionaryStringJsonElement));
        app.MapPost("/sdapi/v1/png-info", async context =>
        {
            var body = await RequestBody.ReadAsync(context, ApiJson.Web.PngInfoRequest);
            if (body.Image == null) throw ApiException.Invalid("image", "field required", "value_error.missing");
            await HttpJson.Write(context, PngInfo(body.Image), ApiJson.Web.PngInfoResponse);
        });
    }

    private static Dictionary<string, JsonElement> Options(ServerState state)
    {
        var selected = state.SelectedCheckpoint;
        var options = new Dictionary<string, JsonElement>
        {
            ["sd_model_checkpoint"] = Json.Of(selected?.Title),
            ["sd_checkpoint_hash"] = Json.Of(selected?.Sha256),
            ["sd_vae"] = Json.Of("Automatic"),
            ["samples_format"] = Json.Of("png"),
            ["outdir_txt2img_samples"] = Json.Of(Path.Combine(state.Options.Outputs, "txt2img-images")),
            ["outdir_img2img_samples"] = Json.Of(Path.Combine(state.Options.Outputs, "img2img-images")),
        };
        state.Settings.WriteTo(options);
        return options;
    }

    // Options a client may read but not change here (the output folders are the server's to choose).
    private static readonly HashSet<string> Fixed = ["sd_checkpoint_hash", "samples_format", "sd_vae", "outdir_txt2img_samples", "outdir_img2img_samples"];

    /// <summary>
    /// A1111's POST /options: every key is checked before any is applied; a checkpoint is loaded on the queue
    /// (after the jobs ahead of it) before the call returns. Keys SdSharp has no use for are ignored.
    /// </summary>
    private static async Task SetOptions(ServerState state, Dictionary<string, JsonElement> changes, CancellationToken aborted)
    {
        var settings = state.Settings;
        var current = Options(state);
        Models.CheckpointEntry? checkpoint = null;
        foreach (var (key, value) in changes)
        {
            if (key == "sd_model_checkpoint")
            {
                string? name = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
                checkpoint = state.Catalog.Find(name) ?? throw ApiException.Invalid(key, $"model '{name ?? value.ToString()}' not found");
            }
            else if (Fixed.Contains(key))
            {
                if (!JsonElement.DeepEquals(value, current[key]) && !(key == "sd_vae" && value.ValueKind == JsonValueKind.String && value.GetString() is "None" or "Automatic"))
                    throw ApiException.Invalid(key, $"{key} cannot be changed on this server");
            }
            else settings = settings.With(key, value) ?? settings;
        }
        if (checkpoint != null && checkpoint.Path != state.Model.Entry?.Path)
            await state.Queue.Run("load_checkpoint", TaskIds.Create("options"), 0, _ => state.Model.Load(checkpoint), aborted);
        if (checkpoint != null) state.SelectedCheckpoint = checkpoint;
        state.Settings = settings;
    }

    /// <summary>The flags A1111 clients look at, under A1111's names, plus SdSharp's own. Passwords are not shown.</summary>
    private static Dictionary<string, JsonElement> Flags(ServerState state)
    {
        var o = state.Options;
        return new Dictionary<string, JsonElement>
        {
            ["listen"] = Json.Of(!o.IsLoopbackOnly),
            ["port"] = Json.Of(o.Listen.Port),
            ["server_name"] = Json.Of(o.Listen.Address.ToString()),
            ["api"] = Json.Of(true),
            ["nowebui"] = Json.Of(false),
            ["api_auth"] = Json.Of(o.ApiAuth.Count == 0 ? null : string.Join(",", o.ApiAuth.Select(a => a.User + ":***"))),
            ["ckpt_dir"] = Json.Of(o.ModelsDir),
            ["lora_dir"] = Json.Of(o.LoraDir),
            ["embeddings_dir"] = Json.Of(o.EmbeddingsDir),
            ["outdir"] = Json.Of(o.Outputs),
            ["device"] = Json.Of(o.Device),
            ["max_queue"] = Json.Of(o.MaxQueue),
        };
    }

    private static MemoryResponse Memory(ServerState state)
    {
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, used = Environment.WorkingSet;
        var cuda = new Dictionary<string, JsonElement>
        {
            ["error"] = Json.Of(state.Model.Backend.Name.StartsWith("cuda", StringComparison.Ordinal) ? "not reported by the CUDA backend" : "unavailable"),
        };
        return new MemoryResponse
        {
            Ram = new Dictionary<string, JsonElement> { ["free"] = Json.Of(total - used), ["used"] = Json.Of(used), ["total"] = Json.Of(total) },
            Cuda = cuda,
        };
    }

    /// <summary>A1111's png-info: the parameters chunk, the other text chunks, and the infotext parsed as its PNG Info reads it.</summary>
    private static PngInfoResponse PngInfo(string image)
    {
        byte[] bytes = Base64Image.Bytes(image, "image", null);
        PngInfo info;
        try
        {
            using var stream = new MemoryStream(bytes);
            info = PngDecoder.ReadInfo(stream, "image");
        }
        catch (InvalidInputException e)
        {
            throw ApiException.Invalid("image", $"not a PNG image this server can read ({e.Message})");
        }
        string infotext = info.GetText(ImageInfotext.PngKeyword) ?? "";
        var response = new PngInfoResponse { Info = infotext };
        foreach (var chunk in info.Text)
            if (chunk.Keyword != ImageInfotext.PngKeyword) response.Items[chunk.Keyword] = chunk.Value;
        foreach (var (key, value) in InfotextParser.Parse(infotext).Fields)
            response.Parameters[key] = value switch
            {
                bool b => Json.Of(b),
                long l => Json.Of(l),
                double d => Json.Of(d),
                _ => Json.Of(value.ToString()),
            };
        return response;
    }
}
