using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SdSharp.Server.Api;

/// <summary>txt2img, img2img and the endpoints that watch or steer the running job.</summary>
internal static class GenerationEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ServerState state)
    {
        app.MapPost("/sdapi/v1/txt2img", async context =>
        {
            var body = await RequestBody.ReadAsync(context, ApiJson.Web.Txt2ImgRequest);
            var job = state.Mapper.Map(body, state.Settings);
            var response = await state.Generation.RunAsync("txt2img", body, job, context.RequestAborted);
            await HttpJson.Write(context, response, ApiJson.Web.GenerationResponse);
        });
        app.MapPost("/sdapi/v1/img2img", async context =>
        {
            var body = await RequestBody.ReadAsync(context, ApiJson.Web.Img2ImgRequest);
            var job = state.Mapper.Map(body, state.Settings);
            var response = await state.Generation.RunAsync("img2img", body, job, context.RequestAborted);
            await HttpJson.Write(context, response, ApiJson.Web.GenerationResponse);
        });
        app.MapGet("/sdapi/v1/progress", context =>
        {
            bool skip = context.Request.Query["skip_current_image"].ToString().ToLowerInvariant() is "true" or "1" or "yes" or "on";
            return HttpJson.Write(context, state.Progress.Snapshot(skip, state.Queue.Waiting), ApiJson.Web.ProgressResponse);
        });
        app.MapPost("/sdapi/v1/interrupt", context =>
        {
            state.Queue.Interrupt();
            return HttpJson.WriteEmptyObject(context);
        });
        app.MapPost("/sdapi/v1/skip", context =>
        {
            state.Queue.Skip();
            return HttpJson.WriteNull(context);
        });
    }
}
