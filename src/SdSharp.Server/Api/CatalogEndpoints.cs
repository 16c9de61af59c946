using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SdSharp.Addons;
using SdSharp.Addons.Embeddings;
using SdSharp.Sampling;
using SdSharp.Server.Models;

namespace SdSharp.Server.Api;

/// <summary>What the server offers: samplers, schedule types, upscalers, checkpoints, LoRAs, embeddings.</summary>
internal static class CatalogEndpoints
{
    // sd_schedulers.py: the schedule types whose function needs the model's own σ table.
    private static readonly HashSet<string> NeedInnerModel = ["uniform", "sgm_uniform", "simple", "normal", "ddim", "beta"];

    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapGet("/sdapi/v1/samplers", context => HttpJson.Write(context, Samplers(), ApiJson.Web.ListSamplerItem));
        app.MapGet("/sdapi/v1/schedulers", context => HttpJson.Write(context, [.. ScheduleType.All.Select(s => new SchedulerItem
        {
            Name = s.Name,
            Label = s.Label,
            Aliases = s.Aliases.Count == 0 ? null : [.. s.Aliases],
            DefaultRho = s.DefaultRho,
            NeedInnerModel = NeedInnerModel.Contains(s.Name),
        })], ApiJson.Web.ListSchedulerItem));
        app.MapGet("/sdapi/v1/upscalers", context => HttpJson.Write(context,
            [.. RequestMapper.ImageUpscalers.Select(name => new UpscalerItem { Name = name, Scale = 4 })], ApiJson.Web.ListUpscalerItem));
        app.MapGet("/sdapi/v1/latent-upscale-modes", context => HttpJson.Write(context,
            [.. RequestMapper.LatentUpscaleModes.Select(name => new NameItem { Name = name })], ApiJson.Web.ListNameItem));
        app.MapGet("/sdapi/v1/sd-models", context => HttpJson.Write(context, [.. state.Catalog.Entries.Select(e => new SdModelItem
        {
            Title = e.Title, ModelName = e.ModelName, Hash = e.ShortHash, Sha256 = e.Sha256, Filename = e.Path,
        })], ApiJson.Web.ListSdModelItem));
        app.MapPost("/sdapi/v1/refresh-checkpoints", async context =>
        {
            await Task.Run(state.Catalog.Refresh, context.RequestAborted);
            if (state.SelectedCheckpoint is { } selected)
                state.SelectedCheckpoint = state.Catalog.Entries.FirstOrDefault(e => e.Path == selected.Path) ?? selected;
            state.SelectedCheckpoint ??= state.Catalog.Entries.FirstOrDefault();
            await HttpJson.WriteNull(context);
        });
        app.MapGet("/sdapi/v1/loras", context => HttpJson.Write(context, [.. AddonFiles.List(state.Options.LoraDir, AddonFiles.LoraExtensions)
            .Select(f => new LoraItem { Name = f.Key, Alias = f.Key, Path = Path.GetFullPath(f.Value) })], ApiJson.Web.ListLoraItem));
        app.MapGet("/sdapi/v1/hypernetworks", context => HttpJson.Write(context, [.. AddonFiles.Hypernetworks(state.Options.HypernetworkDir)
            .Select(f => new HypernetworkItem { Name = f.Key, Path = Path.GetFullPath(f.Value) })], ApiJson.Web.ListHypernetworkItem));
        app.MapGet("/sdapi/v1/embeddings", context => HttpJson.Write(context, Embeddings(state), ApiJson.Web.EmbeddingsResponse));
        // LoRA files are listed afresh on every GET and every generation: there is no cache to refresh.
        app.MapPost("/sdapi/v1/refresh-loras", context => HttpJson.WriteNull(context));
        app.MapPost("/sdapi/v1/refresh-embeddings", context =>
        {
            state.Model.Model?.Addons.RefreshEmbeddings();
            return HttpJson.WriteNull(context);
        });

        // Features SdSharp does not have: the lists are truthfully empty, so clients that probe them at start work.
        app.MapGet("/sdapi/v1/scripts", context => HttpJson.Write(context, new ScriptsList(), ApiJson.Web.ScriptsList));
        foreach (string empty in new[] { "script-info", "sd-vae", "face-restorers", "realesrgan-models", "prompt-styles", "extensions" })
            app.MapGet($"/sdapi/v1/{empty}", context => HttpJson.Write(context, [], ApiJson.Web.ListJsonElement));
    }

    /// <summary>A1111's /samplers: name, aliases and the options dict of sd_samplers_kdiffusion/timesteps/lcm.</summary>
    private static List<SamplerItem> Samplers() => [.. SamplerInfo.All.Select(s =>
    {
        var options = new Dictionary<string, JsonElement>();
        if (s.DefaultSchedule != ScheduleType.Automatic) options["scheduler"] = Json.Of(s.DefaultSchedule.Name);
        if (s.DiscardPenultimateSigma) options["discard_next_to_last_sigma"] = Json.Of(true);
        if (s.UsesEnsd) options["uses_ensd"] = Json.Of(true);
        if (s.SecondOrder && s.Kind == SamplerKind.KDiffusion) options["second_order"] = Json.Of(true);
        if (s.BrownianNoise) options["brownian_noise"] = Json.Of(true);
        if (s.Name == "DPM++ 2M SDE Heun") options["solver_type"] = Json.Of("heun");
        return new SamplerItem { Name = s.Name, Aliases = [.. s.Aliases], Options = options };
    })];

    /// <summary>
    /// The embeddings folder as the loaded model sees it: those that fit it are loaded, others skipped. Before any
    /// model is loaded every readable file is listed as skipped.
    /// </summary>
    private static EmbeddingsResponse Embeddings(ServerState state)
    {
        var response = new EmbeddingsResponse();
        static EmbeddingItem Item(TextualInversionEmbedding e) => new() { Shape = e.Shape, Vectors = e.VectorCount };
        if (state.Model.Model is { } model)
        {
            var database = model.Addons.Embeddings;
            foreach (var (name, embedding) in database.Loaded) response.Loaded[name] = Item(embedding);
            foreach (var (name, embedding) in database.Skipped) response.Skipped[name] = Item(embedding);
            return response;
        }
        // An unreadable file is not an embedding; A1111 leaves it out of both lists too.
        foreach (var embedding in EmbeddingDatabase.ReadFolder(state.Options.EmbeddingsDir, new List<string>()))
            response.Skipped[embedding.Name] = Item(embedding);
        return response;
    }
}
