using SdSharp.Addons;
using SdSharp.Generation.Infotext;
using SdSharp.Server.Api;
using SdSharp.Server.Models;
using SdSharp.Server.Queue;

namespace SdSharp.Server;

/// <summary>Everything the endpoints share: the options given at start, the models, the queue and the live settings.</summary>
public sealed class ServerState : IDisposable
{
    private volatile ServerSettings _settings = new();
    private volatile CheckpointEntry? _selected;

    public ServerState(ServerOptions options, TextWriter log)
    {
        Options = options;
        Log = log;
        var excluded = new List<string>();
        if (options.LoraDir != null) excluded.Add(options.LoraDir);
        if (options.EmbeddingsDir != null) excluded.Add(options.EmbeddingsDir);
        if (options.HypernetworkDir != null) excluded.Add(options.HypernetworkDir);
        Catalog = new ModelCatalog(options.BundledModel, options.ModelsDir, excluded, new ModelHashes(options.HashCacheFile));
        Catalog.Refresh();
        _selected = Catalog.Entries.FirstOrDefault();
        Model = new LoadedModel(options.CreateBackend(), new AddonFolders { Loras = options.LoraDir, Embeddings = options.EmbeddingsDir, Hypernetworks = options.HypernetworkDir }, Catalog, log);
        Progress = new ProgressTracker(() => Settings);
        Queue = new JobQueue(options.MaxQueue, Progress, log);
        Mapper = new RequestMapper(Catalog);
        Generation = new GenerationService(this);
    }

    public ServerOptions Options { get; }
    public TextWriter Log { get; }
    public ModelCatalog Catalog { get; }
    public LoadedModel Model { get; }
    public ProgressTracker Progress { get; }
    public JobQueue Queue { get; }
    public RequestMapper Mapper { get; }
    public GenerationService Generation { get; }

    /// <summary>The options in force (A1111's shared.opts); replaced whole, never changed in place.</summary>
    public ServerSettings Settings
    {
        get => _settings;
        set => _settings = value;
    }

    /// <summary>The checkpoint generations use (A1111's sd_model_checkpoint); loaded on the queue's thread when first needed.</summary>
    public CheckpointEntry? SelectedCheckpoint
    {
        get => _selected;
        set => _selected = value;
    }

    public void Dispose()
    {
        Queue.Dispose();
        Model.Dispose();
    }
}
