using System.Globalization;
using SdSharp.IO;
using SdSharp.Models.Unet;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Models;

public enum ModelFamily { SD1, SD2, SDXL, SDXLRefiner }

/// <summary>What the UNet predicts: the noise (ε) or the velocity v = α·ε − σ·x₀ (SD 2.x 768 models).</summary>
public enum PredictionType { Epsilon, V }

public sealed record CheckpointOptions
{
    /// <summary>Overrides prediction-type detection (--prediction v|eps).</summary>
    public PredictionType? Prediction { get; init; }

    /// <summary>For diffusers folders: prefer weights of this variant ("fp16").</summary>
    public string? Variant { get; init; }

    /// <summary>
    /// A diffusers folder whose component config.json files describe the architecture of a single-file checkpoint
    /// (as diffusers' from_single_file(config=...)): for models that are not one of the standard shapes.
    /// </summary>
    public string? ConfigFrom { get; init; }
}

/// <summary>
/// An opened Stable Diffusion checkpoint: its family (detected from the tensors, never from the file name),
/// whether it is an inpainting model, what its UNet predicts, and the weights and architecture of each network.
/// The file stays open (memory-mapped) while the checkpoint is alive: networks built from it read its memory.
/// </summary>
public sealed class Checkpoint : IDisposable
{
    private readonly List<WeightMap> _maps = new();

    private Checkpoint(string path, TensorFile file)
    {
        Path = path;
        File = file;
    }

    public string Path { get; }
    public TensorFile File { get; }
    public ModelFamily Family { get; private set; }
    public bool IsInpainting => UnetConfig.InChannels == 9;
    public PredictionType Prediction { get; private set; }
    /// <summary>How the prediction type was decided, for `model inspect`: "option", "v_pred key", "metadata", ...</summary>
    public string PredictionSource { get; private set; } = "";

    public WeightMap Unet { get; private set; } = null!;
    public UNetConfig UnetConfig { get; private set; } = null!;
    /// <summary>The VAE's weights (canonical: original names), or null when the file has none.</summary>
    public WeightMap? Vae { get; private set; }
    /// <summary>CLIP-L (SD 1.x, SDXL) or OpenCLIP-H (SD 2.x); null for the refiner or when absent.</summary>
    public WeightMap? TextEncoder { get; private set; }
    /// <summary>OpenCLIP bigG (SDXL, refiner).</summary>
    public WeightMap? TextEncoder2 { get; private set; }

    /// <summary>The diffusers folder that described the architecture (a diffusers model, or ConfigFrom), or null.</summary>
    public DiffusersFolder? ConfigFolder { get; private set; }

    public static Checkpoint Open(string path, CheckpointOptions? options = null) =>
        Read(ModelFiles.Open(path, options?.Variant), options);

    /// <summary>Reads an already opened file (which the checkpoint then owns and disposes).</summary>
    public static Checkpoint Read(TensorFile file, CheckpointOptions? options = null)
    {
        options ??= new CheckpointOptions();
        var checkpoint = new Checkpoint(file.Path, file);
        try
        {
            if (file is DiffusersFolder folder) checkpoint.ReadDiffusers(folder, options);
            else checkpoint.ReadSingleFile(options);
            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    // ---- single files (the original layout) ----

    private const string UnetPrefix = "model.diffusion_model.";

    private void ReadSingleFile(CheckpointOptions options)
    {
        (Family, string? te1Prefix, bool te1OpenClip, string? te2Prefix) = DetectLayout(File);

        Unet = Track(WeightMap.Build(File, new PrefixLayout("unet (original layout)", UnetPrefix)));
        if (options.ConfigFrom != null)
        {
            ConfigFolder = DiffusersFolder.Open(options.ConfigFrom);
            UnetConfig = UNetConfig.FromDiffusers(ConfigFolder.Component("unet").Config);
        }
        else
        {
            Func<int, int> heads = Family == ModelFamily.SD1 ? _ => 8 : channels => channels / 64;
            UnetConfig = UNetConfig.FromWeights(Unet, heads);
            CheckContext();
        }
        CheckInputChannels();

        if (Has("first_stage_model.")) Vae = Track(WeightMap.Build(File, new PrefixLayout("vae (original layout)", "first_stage_model.")));
        if (te1Prefix != null)
            TextEncoder = Track(WeightMap.Build(File, te1OpenClip
                ? new OpenClipLayout("text_encoder (original OpenCLIP layout)", te1Prefix)
                : new HfClipLayout("text_encoder (original layout)", te1Prefix)));
        if (te2Prefix != null)
            TextEncoder2 = Track(WeightMap.Build(File, new OpenClipLayout("text_encoder_2 (original OpenCLIP layout)", te2Prefix)));
        DecidePrediction(options, schedulerPrediction: null);
    }

    /// <summary>
    /// The family of a single-file checkpoint (original layout), from its keys alone: what the checkpoint merger
    /// compares before it reads any weight. Throws <see cref="ModelFormatException"/> for files that are not
    /// Stable Diffusion checkpoints (a LoRA, a VAE, an embedding), saying what they look like.
    /// </summary>
    public static ModelFamily DetectFamily(TensorFile file) => DetectLayout(file).Family;

    /// <summary>The family and where its text encoders are stored (null prefixes: not in the file).</summary>
    private static (ModelFamily Family, string? Te1Prefix, bool Te1OpenClip, string? Te2Prefix) DetectLayout(TensorFile file)
    {
        if (!file.Tensors.Any(t => t.Name.StartsWith(UnetPrefix, StringComparison.Ordinal)))
            throw new ModelFormatException($"{file.Path}: not a Stable Diffusion checkpoint ({WhatItLooksLike(file)})");
        bool Has(string prefix) => file.Tensors.Any(t => t.Name.StartsWith(prefix, StringComparison.Ordinal));
        return Has("conditioner.embedders.1.model.") ? (ModelFamily.SDXL, "conditioner.embedders.0.transformer.", false, "conditioner.embedders.1.model.")
            : Has("conditioner.embedders.0.model.") ? (ModelFamily.SDXLRefiner, null, false, "conditioner.embedders.0.model.")
            : Has("cond_stage_model.model.") ? (ModelFamily.SD2, "cond_stage_model.model.", true, null)
            : Has("cond_stage_model.transformer.") ? (ModelFamily.SD1, "cond_stage_model.transformer.", false, (string?)null)
            : (FamilyFromContext(file), null, false, null);
    }

    /// <summary>Without text encoders in the file, the UNet's context size tells the family.</summary>
    private static ModelFamily FamilyFromContext(TensorFile file)
    {
        using var probe = WeightMap.Build(file, new PrefixLayout("unet (original layout)", UnetPrefix));
        var config = UNetConfig.FromWeights(probe, _ => 1);
        return config.ContextDim switch
        {
            768 => ModelFamily.SD1,
            1024 => ModelFamily.SD2,
            2048 => ModelFamily.SDXL,
            1280 => ModelFamily.SDXLRefiner,
            _ => throw new ModelFormatException($"{file.Path}: a UNet with {config.ContextDim}-wide text context is not a known Stable Diffusion family"),
        };
    }

    private void CheckContext()
    {
        int expected = Family switch { ModelFamily.SD1 => 768, ModelFamily.SD2 => 1024, ModelFamily.SDXL => 2048, _ => 1280 };
        if (UnetConfig.ContextDim != expected)
            throw new ModelFormatException($"{Path}: the text encoders say {Describe(Family)} but the UNet attends to {UnetConfig.ContextDim}-wide text, not {expected}");
    }

    private void CheckInputChannels()
    {
        if (UnetConfig.InChannels is not (4 or 9))
            throw new ModelFormatException($"{Path}: a UNet with {UnetConfig.InChannels} input channels is not supported (4: text-to-image, 9: inpainting; 8 would be InstructPix2Pix)");
    }

    private bool Has(string prefix) => File.Tensors.Any(t => t.Name.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>A hint for files that are not checkpoints at all.</summary>
    private static string WhatItLooksLike(TensorFile file)
    {
        var names = file.Tensors.Select(t => t.Name).Take(2000).ToList();
        if (names.Any(n => n.StartsWith("lora_", StringComparison.Ordinal) || n.Contains(".lora_", StringComparison.Ordinal) || n.Contains("lora_A", StringComparison.Ordinal)))
            return "it looks like a LoRA: use it with <lora:NAME:WEIGHT> in a prompt";
        if (names.Any(n => n.StartsWith("string_to_param", StringComparison.Ordinal) || n is "emb_params" or "clip_l" or "clip_g"))
            return "it looks like a textual-inversion embedding";
        if (names.Any(n => n.StartsWith("encoder.down", StringComparison.Ordinal) || n.StartsWith("decoder.up", StringComparison.Ordinal)))
            return "it looks like a VAE: use it with --vae";
        if (names.Any(n => n.StartsWith("control_model.", StringComparison.Ordinal)))
            return "it looks like a ControlNet";
        var sample = string.Join(", ", names.Take(3));
        return names.Count == 0 ? "it holds no tensors" : $"no model.diffusion_model.* weights; first keys: {sample}";
    }

    // ---- diffusers folders ----

    private void ReadDiffusers(DiffusersFolder folder, CheckpointOptions options)
    {
        ConfigFolder = folder;
        if (!folder.HasComponent("unet")) throw new ModelFormatException($"{Path}: the diffusers model has no unet");
        UnetConfig = UNetConfig.FromDiffusers(folder.Component("unet").Config);
        bool[] upHasAttention = UnetConfig.TransformerDepth.Reverse().Select(d => d > 0).ToArray();
        Unet = Track(WeightMap.Build(folder, new DiffusersUnetLayout("unet.", UnetConfig.ResBlocksPerLevel, upHasAttention)));
        CheckInputChannels();
        if (folder.HasComponent("vae"))
        {
            int levels = folder.Component("vae").Config.GetIntArray("block_out_channels").Length;
            Vae = Track(WeightMap.Build(folder, new DiffusersVaeLayout("vae.", levels)));
        }
        if (folder.HasComponent("text_encoder"))
            TextEncoder = Track(WeightMap.Build(folder, new HfClipLayout("text_encoder (diffusers layout)", "text_encoder.")));
        if (folder.HasComponent("text_encoder_2"))
            TextEncoder2 = Track(WeightMap.Build(folder, new HfClipLayout("text_encoder_2 (diffusers layout)", "text_encoder_2.")));
        Family = (UnetConfig.AdmInChannels != null, TextEncoder != null) switch
        {
            (true, true) => ModelFamily.SDXL,
            (true, false) => ModelFamily.SDXLRefiner,
            // SD 2.x UNets use linear projections (and 1024-wide context at full size); SD 1.x use 1×1 convolutions.
            _ => UnetConfig.LinearProjection || UnetConfig.ContextDim == 1024 ? ModelFamily.SD2 : ModelFamily.SD1,
        };
        string? scheduler = null;
        if (folder.HasComponent("scheduler"))
        {
            var component = folder.Component("scheduler");
            string configPath = System.IO.Path.Combine(component.Directory, "scheduler_config.json");
            if (System.IO.File.Exists(configPath)) scheduler = JsonConfig.Load(configPath).GetString("prediction_type", null);
        }
        DecidePrediction(options, scheduler);
    }

    // ---- prediction type ----

    private void DecidePrediction(CheckpointOptions options, string? schedulerPrediction)
    {
        if (options.Prediction is PredictionType chosen) Set(chosen, "option");
        else if (File.Find("v_pred") != null) Set(PredictionType.V, "v_pred key");
        else if (File.Metadata.TryGetValue("modelspec.prediction_type", out string? spec) && ParsePrediction(spec) is PredictionType fromSpec)
            Set(fromSpec, "modelspec metadata");
        else if (schedulerPrediction != null && ParsePrediction(schedulerPrediction) is PredictionType fromScheduler)
            Set(fromScheduler, "scheduler config");
        else if (Family == ModelFamily.SD2 && !IsInpainting && UnetConfig.ContextDim == 1024 && options.ConfigFrom == null)
            Set(PredictionType.Epsilon, "undecided");   // decided by PredictionTest, which needs a backend
        else Set(PredictionType.Epsilon, "default");

        void Set(PredictionType type, string source)
        {
            Prediction = type;
            PredictionSource = source;
        }
    }

    /// <summary>
    /// SD 2.x files do not say whether they are the 768 v-model or the 512 ε-model. A1111 runs the UNet once on a
    /// constant input and calls it v when the output minus the input averages below −1 (sd_models_config.py);
    /// this does the same with the caller's UNet. Only needed when <see cref="PredictionSource"/> is "undecided".
    /// </summary>
    public void RunPredictionTest(UNetModel unet)
    {
        if (PredictionSource != "undecided") return;
        var backend = unet.Backend;
        using var x = backend.Full(new Shape(1, 8, 8, 4), 0.5f);
        using var t = backend.Scalars([999f]);
        using var context = backend.Full(new Shape(1, 2, UnetConfig.ContextDim), 0.5f);
        using var output = unet.Forward(x, t, context);
        double mean = output.ToArray().Average(v => v - 0.5);
        Prediction = mean < -1 ? PredictionType.V : PredictionType.Epsilon;
        PredictionSource = string.Create(CultureInfo.InvariantCulture, $"A1111's test (mean {mean:0.###})");
    }

    /// <summary>The same test with a UNet built just for it (for `model inspect`, which builds no networks).</summary>
    public void RunPredictionTest(IBackend backend)
    {
        if (PredictionSource != "undecided") return;
        using var unet = new UNetModel(backend, Unet, UnetConfig);
        RunPredictionTest(unet);
    }

    public static PredictionType? ParsePrediction(string text) => text.Trim().ToLowerInvariant() switch
    {
        "v" or "v_prediction" or "v-prediction" => PredictionType.V,
        "eps" or "epsilon" => PredictionType.Epsilon,
        _ => null,
    };

    public static string Describe(ModelFamily family) => family switch
    {
        ModelFamily.SD1 => "SD 1.x",
        ModelFamily.SD2 => "SD 2.x",
        ModelFamily.SDXL => "SDXL",
        _ => "SDXL refiner",
    };

    private WeightMap Track(WeightMap map)
    {
        _maps.Add(map);
        return map;
    }

    public void Dispose()
    {
        foreach (var map in _maps) map.Dispose();
        if (ConfigFolder != null && !ReferenceEquals(ConfigFolder, File)) ConfigFolder.Dispose();
        File.Dispose();
    }
}
