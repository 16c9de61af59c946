using SdSharp.IO;
using SdSharp.Models.Layers;
using SdSharp.Models.Weights;
using SdSharp.Tensors;
using SdSharp.Text.Encoders;

namespace SdSharp.Tests.Text.Encoders;

/// <summary>One text encoder of a tiny model fixture (tools/reference/make_model_fixtures.py).</summary>
public sealed record ClipFixture(string Family, string Component, string SinglePrefix, bool OpenClip)
{
    public static readonly ClipFixture Sd1 = new("sd1", "text_encoder", "cond_stage_model.transformer.", false);
    public static readonly ClipFixture Sd1Inpaint = new("sd1-inpaint", "text_encoder", "cond_stage_model.transformer.", false);
    public static readonly ClipFixture Sd2 = new("sd2", "text_encoder", "cond_stage_model.model.", true);
    public static readonly ClipFixture SdxlL = new("sdxl", "text_encoder", "conditioner.embedders.0.transformer.", false);
    public static readonly ClipFixture SdxlG = new("sdxl", "text_encoder_2", "conditioner.embedders.1.model.", true);
    public static readonly ClipFixture RefinerG = new("refiner", "text_encoder_2", "conditioner.embedders.0.model.", true);

    public static readonly ClipFixture[] All = [Sd1, Sd1Inpaint, Sd2, SdxlL, SdxlG, RefinerG];

    /// <summary>The tiny fixtures have 4 heads (real CLIPs have hidden/64).</summary>
    public const int TinyHeads = 4;

    public override string ToString() => $"{Family}/{Component}";
}

/// <summary>A loaded text encoder and everything that must outlive it.</summary>
public sealed class LoadedClip : IDisposable
{
    private readonly TensorFile _file;
    private readonly WeightMap _map;
    private readonly DeviceWeights _weights;

    private LoadedClip(TensorFile file, WeightMap map, DeviceWeights weights, ClipTextModel model)
    {
        _file = file;
        _map = map;
        _weights = weights;
        Model = model;
    }

    public ClipTextModel Model { get; }
    public WeightMap Map => _map;

    /// <summary>From the original single file; <paramref name="layers"/> overrides the layer count found in it.</summary>
    public static LoadedClip Single(IBackend backend, ClipFixture f, int? layers = null)
    {
        TensorFile file = ModelFiles.Open(TestPaths.Fixture("models", f.Family, "single.safetensors"));
        WeightMap map = WeightMap.Build(file, f.OpenClip
            ? new OpenClipLayout($"{f.Component} (OpenCLIP layout)", f.SinglePrefix)
            : new HfClipLayout($"{f.Component} (original layout)", f.SinglePrefix));
        ClipTextConfig config = ClipTextConfig.FromWeights(map, f.OpenClip ? ClipTextFlavor.OpenClip : ClipTextFlavor.OpenAi, ClipFixture.TinyHeads);
        if (layers != null) config = config with { Layers = layers.Value };
        return Load(backend, file, map, config);
    }

    /// <summary>From the diffusers folder, configured by the component's config.json.</summary>
    public static LoadedClip Diffusers(IBackend backend, ClipFixture f)
    {
        var folder = DiffusersFolder.Open(TestPaths.Fixture("models", f.Family, "diffusers"));
        WeightMap map = WeightMap.Build(folder, new HfClipLayout($"{f.Component} (diffusers layout)", f.Component + "."));
        return Load(backend, folder, map, ClipTextConfig.FromJson(folder.Component(f.Component).Config));
    }

    private static LoadedClip Load(IBackend backend, TensorFile file, WeightMap map, ClipTextConfig config)
    {
        var weights = new DeviceWeights(backend, map);
        var model = new ClipTextModel(weights.Root, config);
        weights.Complete();
        return new LoadedClip(file, map, weights, model);
    }

    public void Dispose()
    {
        _weights.Dispose();
        _map.Dispose();
        _file.Dispose();
    }
}
