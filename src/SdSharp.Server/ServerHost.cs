using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SdSharp.Server.Api;
using SdSharp.Server.Web;

namespace SdSharp.Server;

/// <summary>
/// <c>sdsharp serve</c>: the A1111-compatible API under /sdapi/v1 and the web UI at /, on Kestrel. Start one
/// with <see cref="StartAsync"/>; it runs until disposed.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, ServerState state, Uri address)
    {
        _app = app;
        State = state;
        Address = address;
    }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:7860/ (the real port when 0 was asked for).</summary>
    public Uri Address { get; }

    public ServerState State { get; }

    public static async Task<ServerHost> StartAsync(ServerOptions options, TextWriter log, CancellationToken cancellation = default)
    {
        var state = new ServerState(options, log);
        try
        {
            var app = Build(options, state);
            await app.StartAsync(cancellation);
            string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            var host = new ServerHost(app, state, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).TrimEnd('/') + "/"));
            if (!options.IsLoopbackOnly && options.ApiAuth.Count == 0)
                log.WriteLine($"sdsharp serve: warning: listening on {options.Listen} without --api-auth; anyone who can reach it can use this server");
            // Load the first model now, on the queue, so the first request does not wait for it.
            if (state.SelectedCheckpoint is { } first)
                _ = state.Queue.Run("load_checkpoint", "startup", 0, _ => state.Model.Load(first), CancellationToken.None)
                    .ContinueWith(t => log.WriteLine($"sdsharp serve: could not load {first.Title}: {t.Exception?.GetBaseException().Message}"),
                        CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            else log.WriteLine("sdsharp serve: warning: no model found (give --models DIR)");
            return host;
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    private static WebApplication Build(ServerOptions options, ServerState state)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders(); // the server reports what matters itself, in one-line messages
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.Listen);
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        var errors = new ErrorHandling(state);
        var auth = new BasicAuth(options.ApiAuth);
        app.Use((context, next) => errors.Invoke(context, next));
        app.Use((context, next) => auth.Invoke(context, next));
        GenerationEndpoints.Map(app, state);
        CatalogEndpoints.Map(app, state);
        SystemEndpoints.Map(app, state);
        StaticAssets.Map(app);
        app.MapFallback(context => throw new ApiException(StatusCodes.Status404NotFound, "Not Found"));
        return app;
    }

    /// <summary>Runs until <paramref name="cancellation"/> fires (Ctrl+C for the command line).</summary>
    public async Task WaitAsync(CancellationToken cancellation)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellation);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        State.Queue.Interrupt(); // a running generation stops at its next step
        using (var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5))) await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
        State.Dispose();
    }
}
