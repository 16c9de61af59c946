using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Layers;
using SdSharp.Models.Unet;
using SdSharp.Models.Vae;
using SdSharp.Models.Weights;
using SdSharp.Tensors;
using SdSharp.Text;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Encoders;

namespace SdSharp.Generation;

public sealed record ModelLoadOptions
{
    public CheckpointOptions Checkpoint { get; init; } = new();
    /// <summary>A CLIP tokenizer: OpenAI's bpe_simple_vocab_16e6.txt.gz or an HF tokenizer folder (for single files).</summary>
    public string? Tokenizer { get; init; }

    /// <summary>A VAE file to use instead of the checkpoint's own (A1111's --vae / sd_vae).</summary>
    public string? Vae { get; init; }

    /// <summary>Where the model's LoRAs, embeddings and hypernetworks are.</summary>
    public Addons.AddonFolders Addons { get; init; } = new();
}

/// <summary>
/// A checkpoint's networks on one backend, ready to generate with: UNet, VAE, text encoders and tokenizer.
/// The checkpoint file stays open as long as the model lives (the CPU backend reads weights in place).
/// </summary>
public sealed class StableDiffusionModel : IDisposable
{
    private readonly List<IDisposable> _owned = new();

    private StableDiffusionModel(Checkpoint checkpoint, IBackend backend)
    {
        Checkpoint = checkpoint;
        Backend = backend;
    }

    public Checkpoint Checkpoint { get; }
    public IBackend Backend { get; }
    public ModelFamily Family => Checkpoint.Family;
    public UNetModel Unet { get; private set; } = null!;
    public AutoencoderKL Vae { get; private set; } = null!;
    public ClipTokenizer Tokenizer { get; private set; } = null!;
    /// <summary>CLIP-L (SD 1.x, SDXL) or OpenCLIP-H (SD 2.x); null for the refiner.</summary>
    public ClipTextModel? TextEncoder { get; private set; }
    /// <summary>OpenCLIP bigG (SDXL, refiner).</summary>
    public ClipTextModel? TextEncoder2 { get; private set; }

    /// <summary>The separate VAE file in use, or null for the checkpoint's own.</summary>
    public string? VaePath { get; private set; }

    /// <summary>LoRAs, hypernetworks and textual-inversion embeddings for this model.</summary>
    public Addons.ModelAddons Addons { get; private set; } = null!;

    public static StableDiffusionModel Load(string path, IBackend backend, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        var checkpoint = Models.Checkpoint.Open(path, options.Checkpoint);
        var model = new StableDiffusionModel(checkpoint, backend);
        try
        {
            model.Build(options);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void Build(ModelLoadOptions options)
    {
        var c = Checkpoint;
        if (c.Vae == null && options.Vae == null) throw new ModelFormatException($"{c.Path}: the checkpoint has no VAE; give one with --vae");
        Unet = Own(new UNetModel(Backend, c.Unet, c.UnetConfig));
        c.RunPredictionTest(Unet);
        Vae = options.Vae == null ? NewVae(c.Vae!, VaeConfig(c)) : LoadVae(options.Vae);
        Tokenizer = LoadTokenizer(c, options.Tokenizer);
        bool openClipFirst = c.Family == ModelFamily.SD2;
        if (c.TextEncoder != null) TextEncoder = LoadClip(c.TextEncoder, "text_encoder", openClipFirst ? ClipTextFlavor.OpenClip : ClipTextFlavor.OpenAi);
        if (c.TextEncoder2 != null) TextEncoder2 = LoadClip(c.TextEncoder2, "text_encoder_2", ClipTextFlavor.OpenClip);
        bool needsFirst = c.Family != ModelFamily.SDXLRefiner, needsSecond = c.Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner;
        if ((needsFirst && TextEncoder == null) || (needsSecond && TextEncoder2 == null))
            throw new ModelFormatException($"{c.Path}: the checkpoint lacks its text encoder{(needsFirst && needsSecond ? "s" : "")}");
        Addons = new SdSharp.Addons.ModelAddons(this, options.Addons);
    }

    /// <summary>A separate VAE file; its scaling factor is the family's, as with the checkpoint's own.</summary>
    private AutoencoderKL LoadVae(string path)
    {
        var file = Own(ModelFiles.OpenFile(path));
        var map = Own(SdSharp.Addons.VaeFiles.Map(file));
        float scaling = Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner ? Models.Vae.VaeConfig.SdxlScalingFactor : Models.Vae.VaeConfig.SdScalingFactor;
        VaePath = path;
        return NewVae(map, Models.Vae.VaeConfig.FromWeights(map, scaling));
    }

    private AutoencoderKL NewVae(WeightMap weights, VaeConfig config)
    {
        // SDXL's VAE overflows fp16 (NaN, black images): it computes in fp32 on a sibling backend, as diffusers upcasts it.
        var vaeBackend = config.RequiresFullRange && Backend.ComputeType == DType.F16 ? Own(Backend.CreateSibling(DType.F32)) : null;
        return Own(new AutoencoderKL(Backend, weights, config, vaeBackend));
    }

    private VaeConfig VaeConfig(Checkpoint c)
    {
        if (c.ConfigFolder != null && c.ConfigFolder.HasComponent("vae")) return Models.Vae.VaeConfig.FromDiffusers(c.ConfigFolder.Component("vae").Config);
        float scaling = c.Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner ? Models.Vae.VaeConfig.SdxlScalingFactor : Models.Vae.VaeConfig.SdScalingFactor;
        return Models.Vae.VaeConfig.FromWeights(c.Vae!, scaling);
    }

    private ClipTextModel LoadClip(WeightMap map, string component, ClipTextFlavor flavor)
    {
        var config = Checkpoint.ConfigFolder != null && Checkpoint.ConfigFolder.HasComponent(component)
            ? ClipTextConfig.FromJson(Checkpoint.ConfigFolder.Component(component).Config)
            : ClipTextConfig.FromWeights(map, flavor);
        var weights = Own(new DeviceWeights(Backend, map));
        var model = new ClipTextModel(weights.Root, config);
        weights.Complete();
        return model;
    }

    /// <summary>
    /// The model's own tokenizer (diffusers folders), else the one given, else a cached or shared copy of OpenAI's
    /// merge list. SD's text encoders all use that vocabulary; OpenCLIP only pads differently.
    /// </summary>
    private static ClipTokenizer LoadTokenizer(Checkpoint c, string? given)
    {
        if (given != null) return Directory.Exists(given) ? ClipTokenizer.FromFolder(given) : ClipTokenizer.FromMergeList(given);
        if (c.File is DiffusersFolder folder)
            foreach (string name in new[] { "tokenizer", "tokenizer_2" })
                if (folder.HasComponent(name) || Directory.Exists(Path.Combine(folder.Path, name)))
                    return ClipTokenizer.FromFolder(Path.Combine(folder.Path, name));
        foreach (string candidate in DefaultMergeLists())
            if (File.Exists(candidate)) return ClipTokenizer.FromMergeList(candidate);
        throw new InvalidInputException($"{c.Path}: no CLIP tokenizer found; pass --tokenizer with OpenAI's bpe_simple_vocab_16e6.txt.gz or a tokenizer folder");
    }

    /// <summary>Where a CLIP merge list may already be: the user's cache, or the shared data beside a checkout.</summary>
    public static IEnumerable<string> DefaultMergeLists()
    {
        const string name = "bpe_simple_vocab_16e6.txt.gz";
        string? cache = Environment.GetEnvironmentVariable("SDSHARP_CACHE");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        yield return Path.Combine(string.IsNullOrEmpty(cache) ? Path.Combine(home, ".cache", "sdsharp") : cache, "clip", name);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SdSharp.slnx")))
            {
                yield return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "clip", name));
                yield break;
            }
    }

    /// <summary>The A1111 text conditioning for this family, with this request's settings (clip skip, emphasis).</summary>
    /// <summary>The image size the model was trained at: its UNet config's sample size × 8 when given, else the family's.</summary>
    public int NativeSize
    {
        get
        {
            var folder = Checkpoint.ConfigFolder;
            if (folder != null && folder.HasComponent("unet") && folder.Component("unet").Config.GetInt("sample_size", 0) is int sample and > 0)
                return sample * 8;
            return Family switch
            {
                ModelFamily.SD1 => 512,
                ModelFamily.SD2 => Checkpoint.Prediction == PredictionType.V ? 768 : 512,
                _ => 1024,
            };
        }
    }

    public TextConditioner CreateConditioner(ConditioningOptions options) => Family switch
    {
        ModelFamily.SD1 => TextConditioner.ForSd1(Tokenizer, TextEncoder!, options, Addons.Embeddings),
        // An encoder sized from the weights has OpenCLIP's full tower; diffusers' config already leaves the last block out.
        ModelFamily.SD2 => TextConditioner.ForSd2(Tokenizer, TextEncoder!, holdsLastBlock: !(Checkpoint.ConfigFolder?.HasComponent("text_encoder") ?? false), options, Addons.Embeddings),
        ModelFamily.SDXL => TextConditioner.ForSdxl(Tokenizer, TextEncoder!, TextEncoder2!, options, Addons.Embeddings),
        _ => TextConditioner.ForSdxlRefiner(Tokenizer, TextEncoder2!, options, Addons.Embeddings),
    };

    private T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        Checkpoint.Dispose();
    }
}
