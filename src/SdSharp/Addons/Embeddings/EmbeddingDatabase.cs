using SdSharp.Text;

namespace SdSharp.Addons.Embeddings;

/// <summary>
/// The embeddings a model can use (A1111's EmbeddingDatabase): each is found in a prompt by the token ids of its
/// name; embeddings whose width does not fit the model are skipped.
/// </summary>
public sealed class EmbeddingDatabase
{
    private readonly Dictionary<int, List<(int[] Ids, TextualInversionEmbedding Embedding)>> _byFirstId = [];
    private readonly Dictionary<string, TextualInversionEmbedding> _loaded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TextualInversionEmbedding> _skipped = new(StringComparer.Ordinal);

    public static EmbeddingDatabase Empty { get; } = new();

    /// <summary>Embeddings that fit the model, by name.</summary>
    public IReadOnlyDictionary<string, TextualInversionEmbedding> Loaded => _loaded;

    /// <summary>Embeddings of another width (made for another family), by name.</summary>
    public IReadOnlyDictionary<string, TextualInversionEmbedding> Skipped => _skipped;

    /// <summary>Problems with files that could not be read at all.</summary>
    public IReadOnlyList<string> Errors { get; private init; } = [];

    /// <summary>Every .pt, .bin and .safetensors file under <paramref name="folder"/>; <paramref name="expectedShape"/> is the summed encoder width.</summary>
    public static EmbeddingDatabase Load(string? folder, ClipTokenizer tokenizer, int expectedShape)
    {
        var errors = new List<string>();
        var db = new EmbeddingDatabase { Errors = errors };
        foreach (var embedding in ReadFolder(folder, errors))
        {
            if (embedding.Shape == expectedShape) db.Register(embedding, tokenizer);
            else db._skipped[embedding.Name] = embedding;
        }
        return db;
    }

    /// <summary>The embedding files under <paramref name="folder"/>; files that are not embeddings go to <paramref name="errors"/>.</summary>
    public static IEnumerable<TextualInversionEmbedding> ReadFolder(string? folder, ICollection<string> errors)
    {
        foreach (var (_, path) in AddonFiles.List(folder, AddonFiles.EmbeddingExtensions))
        {
            TextualInversionEmbedding embedding;
            try
            {
                embedding = TextualInversionEmbedding.Load(path);
            }
            catch (Exception e) when (e is IO.ModelFormatException or IO.Pickle.PickleException or InvalidInputException or IOException)
            {
                errors.Add($"{path}: {e.Message}");
                continue;
            }
            yield return embedding;
        }
    }

    public void Register(TextualInversionEmbedding embedding, ClipTokenizer tokenizer)
    {
        int[] ids = [.. tokenizer.EncodeWithoutSpecials(embedding.Name)];
        if (ids.Length == 0) return;
        if (_loaded.Remove(embedding.Name))
            foreach (var list in _byFirstId.Values) list.RemoveAll(e => e.Embedding.Name == embedding.Name);
        if (!_byFirstId.TryGetValue(ids[0], out var candidates)) _byFirstId[ids[0]] = candidates = [];
        candidates.Add((ids, embedding));
        // Longest names first, so "cat-style" wins over "cat" where both match (A1111 sorts the same way).
        candidates.Sort((a, b) => b.Ids.Length.CompareTo(a.Ids.Length));
        _loaded[embedding.Name] = embedding;
    }

    /// <summary>The embedding whose name's tokens start at <paramref name="offset"/>, and how many tokens the name takes.</summary>
    public (TextualInversionEmbedding Embedding, int Length)? FindAt(IReadOnlyList<int> tokens, int offset)
    {
        if (!_byFirstId.TryGetValue(tokens[offset], out var candidates)) return null;
        foreach (var (ids, embedding) in candidates)
        {
            if (offset + ids.Length > tokens.Count) continue;
            bool match = true;
            for (int i = 0; i < ids.Length && match; i++) match = tokens[offset + i] == ids[i];
            if (match) return (embedding, ids.Length);
        }
        return null;
    }
}
