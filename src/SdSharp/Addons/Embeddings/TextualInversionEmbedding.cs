using SdSharp.IO;

namespace SdSharp.Addons.Embeddings;

/// <summary>
/// A textual-inversion embedding: vectors that stand in for the tokens of its name wherever the name appears in
/// a prompt. SDXL embeddings carry one set per text encoder ("clip_l", "clip_g"); others one set.
/// </summary>
public sealed class TextualInversionEmbedding
{
    private readonly Dictionary<string, (float[] Values, int Width)> _sets;

    private TextualInversionEmbedding(string name, string path, Dictionary<string, (float[], int)> sets, int vectors)
    {
        Name = name;
        FilePath = path;
        _sets = sets;
        VectorCount = vectors;
    }

    /// <summary>The file name without extension: what prompts write.</summary>
    public string Name { get; }
    public string FilePath { get; }

    /// <summary>How many tokens the embedding takes in a prompt.</summary>
    public int VectorCount { get; }

    /// <summary>A1111's "shape": the vector width, summed over the encoders for SDXL embeddings.</summary>
    public int Shape => _sets.Values.Sum(s => s.Width);

    /// <summary>Whether the embedding has one set per encoder (SDXL's clip_l and clip_g).</summary>
    public bool PerEncoder => !_sets.ContainsKey("");

    /// <summary>The vectors [count, width] for the encoder called <paramref name="key"/> ("clip_l", "clip_g"; null for the only set).</summary>
    public (float[] Values, int Width) Vectors(string? key)
    {
        if (_sets.TryGetValue("", out var only)) return only;
        if (key != null && _sets.TryGetValue(key, out var set)) return set;
        throw new InvalidOperationException($"embedding {Name} has no vectors for {key ?? "this encoder"}");
    }

    /// <summary>
    /// Reads an embedding as A1111's create_embedding_from_data does: "string_to_param" (A1111's .pt files), SDXL's
    /// "clip_l" and "clip_g", or any file with a single tensor (safetensors "emb_params", diffusers' learned_embeds).
    /// </summary>
    public static TextualInversionEmbedding Load(string path)
    {
        string name = System.IO.Path.GetFileNameWithoutExtension(path);
        using TensorFile file = ModelFiles.OpenFile(path);
        var tensors = file.Tensors;
        var sets = new Dictionary<string, (float[], int)>(StringComparer.Ordinal);
        var perParam = tensors.Where(t => t.Name.StartsWith("string_to_param.", StringComparison.Ordinal)).ToList();
        if (perParam.Count > 0)
        {
            if (perParam.Count != 1) throw new ModelFormatException($"{path}: the embedding file has multiple terms in it");
            sets[""] = Matrix(perParam[0]);
        }
        else if (tensors.Any(t => t.Name == "clip_l") && tensors.Any(t => t.Name == "clip_g"))
        {
            sets["clip_l"] = Matrix(file.Find("clip_l")!);
            sets["clip_g"] = Matrix(file.Find("clip_g")!);
        }
        else if (tensors.Count == 1)
        {
            sets[""] = Matrix(tensors[0]);
        }
        else
        {
            throw new ModelFormatException($"{path}: neither a textual-inversion embedding nor a diffusers concept");
        }
        int vectors = sets.TryGetValue("clip_g", out var g) ? g.Item1.Length / g.Item2 : sets[""].Item1.Length / sets[""].Item2;
        return new TextualInversionEmbedding(name, path, sets, vectors);
    }

    /// <summary>[n, width] (a single vector [width] counts as one row).</summary>
    private static (float[], int) Matrix(TensorEntry entry)
    {
        if (entry.Shape.Length is not (1 or 2) || entry.ElementCount == 0)
            throw new ModelFormatException($"{entry.Name}: an embedding is [vectors, width], not [{string.Join(", ", entry.Shape)}]");
        return (entry.ToFloat32(), (int)entry.Shape[^1]);
    }
}
