using System.Globalization;
using Microsoft.AspNetCore.Http;
using SdSharp.Server.Api;
using SdSharp.Server.Queue;

namespace SdSharp.Server.Web;

/// <summary>
/// Turns every failure into A1111's error body with the right status: client errors 4xx, a full queue 503 with
/// Retry-After, anything unexpected 500 (logged). No failure of one request reaches the others.
/// </summary>
internal sealed class ErrorHandling(ServerState state)
{
    public async Task Invoke(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: there is no one to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (status, body) = Describe(context, e);
            await HttpJson.WriteError(context, status, body);
        }
    }

    private (int, ErrorBody) Describe(HttpContext context, Exception e)
    {
        switch (e)
        {
            case ApiException api:
                return (api.Status, api.ToBody());
            case QueueFullException:
                int seconds = (int)Math.Clamp(Math.Ceiling(state.Queue.AverageJobSeconds * (state.Queue.Waiting + 1)), 1, 3600);
                context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return (503, new ApiException(503, e.Message).ToBody());
            case BadHttpRequestException bad:
                string detail = bad.StatusCode == 413 ? $"request body larger than {state.Options.MaxBodyBytes} bytes" : bad.Message;
                return (bad.StatusCode, new ApiException(bad.StatusCode, detail).ToBody());
            case InvalidInputException invalid:
                // The generator refusing a combination the request allowed (e.g. too few steps for UniPC).
                return (422, new ApiException(422, invalid.Message).ToBody());
            default:
                state.Log.WriteLine($"sdsharp serve: {context.Request.Method} {context.Request.Path} failed: {e}");
                return (500, new ErrorBody { Error = e.GetType().Name, Detail = Json.Of(""), Errors = e.Message });
        }
    }
}
