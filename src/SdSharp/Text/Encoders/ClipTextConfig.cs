using SdSharp.IO;
using SdSharp.Models.Weights;
using SdSharp.Tensors;

namespace SdSharp.Text.Encoders;

/// <summary>Which CLIP a text tower comes from; single files do not say, and the activation differs.</summary>
public enum ClipTextFlavor
{
    /// <summary>OpenAI's CLIP ViT-L/14 (SD 1.x, SDXL's first encoder): quick_gelu.</summary>
    OpenAi,
    /// <summary>OpenCLIP's ViT-H/14 (SD 2.x) and ViT-bigG/14 (SDXL's second encoder, the refiner): exact GELU.</summary>
    OpenClip,
}

/// <summary>Where the pooled output is read.</summary>
public enum ClipPooling
{
    /// <summary>At the largest token id (EOS is the last id of CLIP's vocabulary): what SD's code and OpenCLIP do,
    /// and what transformers does for configs with the old, wrong eos_token_id 2 (every published SD config).</summary>
    ArgmaxId,
    /// <summary>At the first <see cref="ClipTextConfig.EosTokenId"/> (transformers for configs with the right EOS id).</summary>
    FirstEos,
}

/// <summary>The shape of a CLIP text transformer (transformers' <c>CLIPTextConfig</c>).</summary>
public sealed record ClipTextConfig
{
    public required int HiddenSize { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int IntermediateSize { get; init; }
    public required Activation Activation { get; init; }

    /// <summary>Width of text_projection's output; null when unknown (then the weight's shape says).</summary>
    public int? ProjectionDim { get; init; }

    public int MaxPositions { get; init; } = 77;
    public int VocabSize { get; init; } = 49408;
    public int BosTokenId { get; init; } = 49406;
    public int EosTokenId { get; init; } = 49407;
    public float LayerNormEps { get; init; } = 1e-5f;
    public ClipPooling Pooling { get; init; } = ClipPooling.ArgmaxId;

    /// <summary>From a transformers <c>config.json</c> (a diffusers <c>text_encoder/</c>), with transformers' defaults.</summary>
    public static ClipTextConfig FromJson(JsonConfig json)
    {
        string act = json.GetString("hidden_act", "quick_gelu")!;
        int eos = json.GetInt("eos_token_id", 49407);
        return new ClipTextConfig
        {
            HiddenSize = json.GetInt("hidden_size", 512),
            Layers = json.GetInt("num_hidden_layers", 12),
            Heads = json.GetInt("num_attention_heads", 8),
            IntermediateSize = json.GetInt("intermediate_size", 2048),
            Activation = act switch
            {
                "quick_gelu" => Activation.QuickGelu,
                "gelu" => Activation.Gelu,
                _ => throw new ModelFormatException($"{json.Path}: hidden_act {FormatErrors.Quote(act)} is not a CLIP activation (quick_gelu or gelu)"),
            },
            ProjectionDim = json.TryGet("projection_dim", out _) ? json.GetInt("projection_dim") : null,
            MaxPositions = json.GetInt("max_position_embeddings", 77),
            VocabSize = json.GetInt("vocab_size", 49408),
            BosTokenId = json.GetInt("bos_token_id", 49406),
            EosTokenId = eos,
            LayerNormEps = (float)json.GetDouble("layer_norm_eps", 1e-5),
            // Published SD configs say eos_token_id 2 (a transformers bug fixed in PR #24773); for those transformers
            // pools at the largest id, as the original code did.
            Pooling = eos == 2 ? ClipPooling.ArgmaxId : ClipPooling.FirstEos,
        };
    }

    /// <summary>
    /// From the weights of a map under canonical (HF) names, as single files carry no config. Heads default to
    /// hidden/64, which holds for every real CLIP (768 → 12, 1024 → 16, 1280 → 20); tiny test models pass theirs.
    /// BOS and EOS are the vocabulary's last two ids, as in CLIP.
    /// </summary>
    public static ClipTextConfig FromWeights(WeightMap map, ClipTextFlavor flavor, int? heads = null)
    {
        long[] tokens = Require(map, "text_model.embeddings.token_embedding.weight");
        long[] positions = Require(map, "text_model.embeddings.position_embedding.weight");
        long[] fc1 = Require(map, "text_model.encoder.layers.0.mlp.fc1.weight");
        int layers = 0;
        while (map.Contains($"text_model.encoder.layers.{layers}.layer_norm1.weight")) layers++;
        int hidden = checked((int)tokens[1]), vocab = checked((int)tokens[0]);
        if (heads == null && hidden % 64 != 0)
            throw new ModelFormatException($"{map.Description}: hidden size {hidden} is not a multiple of 64; give the head count");
        return new ClipTextConfig
        {
            HiddenSize = hidden,
            Layers = layers,
            Heads = heads ?? hidden / 64,
            IntermediateSize = checked((int)fc1[0]),
            Activation = flavor == ClipTextFlavor.OpenAi ? Activation.QuickGelu : Activation.Gelu,
            ProjectionDim = map.ShapeOf("text_projection.weight") is long[] p ? checked((int)p[0]) : null,
            MaxPositions = checked((int)positions[0]),
            VocabSize = vocab,
            BosTokenId = vocab - 2,
            EosTokenId = vocab - 1,
            Pooling = ClipPooling.ArgmaxId,
        };
    }

    private static long[] Require(WeightMap map, string name) =>
        map.ShapeOf(name) ?? throw new ModelFormatException($"{map.Description}: no {name}, so not a CLIP text encoder");
}
