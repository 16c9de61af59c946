using SdSharp.Addons.Embeddings;
using SdSharp.IO;
using SdSharp.Tensors;
using SdSharp.Text.Encoders;
using SdSharp.Text.Prompts;

namespace SdSharp.Text.Conditioning;

/// <summary>
/// A1111's text conditioning (<c>sd_hijack_clip</c>, <c>sd_hijack_open_clip</c>, <c>sd_models_xl</c>): prompt texts
/// are chunked (<see cref="PromptChunker"/>), each chunk index is encoded for the whole batch by every encoder,
/// weighted by emphasis per encoder, and the chunks are concatenated along the tokens; SDXL's two encoders are
/// concatenated along the channels. Works on the encoders' backend; the models belong to the caller.
/// </summary>
public sealed class TextConditioner
{
    private readonly ConditioningOptions _options;
    private readonly List<(bool Negative, List<TextualInversionEmbedding> Used)> _calls = [];
    private bool _encodingNegative;

    /// <param name="zeroEmptyNegative">SDXL and its refiner: an all-empty negative prompt conditions with zeros.</param>
    /// <param name="embeddings">Textual-inversion embeddings the prompts may name.</param>
    public TextConditioner(ClipTokenizer tokenizer, IReadOnlyList<ConditioningEncoder> encoders,
        ConditioningOptions? options = null, bool zeroEmptyNegative = false, EmbeddingDatabase? embeddings = null)
    {
        if (encoders.Count == 0) throw new ArgumentException("at least one text encoder is needed", nameof(encoders));
        _options = options ?? ConditioningOptions.Default;
        Chunker = new PromptChunker(tokenizer, _options.CommaPaddingBacktrack, embeddings);
        Encoders = encoders;
        ZeroEmptyNegative = zeroEmptyNegative;
        Backend = encoders[0].Model.Backend;
        foreach (ConditioningEncoder e in encoders)
        {
            if (e.Model.Backend != Backend) throw new ArgumentException("the text encoders live on different backends", nameof(encoders));
            if (tokenizer.VocabSize > e.Model.Config.VocabSize)
                throw new InvalidInputException($"the tokenizer has {tokenizer.VocabSize} tokens but a text encoder only {e.Model.Config.VocabSize}");
            if (e.Pooled && !e.Model.HasProjection)
                throw new ModelFormatException("the text encoder that gives the pooled output has no text_projection");
        }
        if (encoders.Count(e => e.Pooled) > 1) throw new ArgumentException("only one encoder gives the pooled output", nameof(encoders));
    }

    /// <summary>SD 1.x: CLIP-L, clip skip, EOS padding.</summary>
    public static TextConditioner ForSd1(ClipTokenizer tokenizer, ClipTextModel clipL, ConditioningOptions? options = null, EmbeddingDatabase? embeddings = null) =>
        new(tokenizer, [new(clipL, HiddenLayer.Sd1(clipL.Config.Layers, (options ?? ConditioningOptions.Default).ClipSkip), PadWithZeros: false, Pooled: false)], options, embeddings: embeddings);

    /// <summary>SD 2.x: OpenCLIP-H's penultimate block with the final layer norm, zero padding.</summary>
    /// <param name="holdsLastBlock">The model has the whole OpenCLIP tower (from an SD 2 single file), not diffusers' copy without its last block.</param>
    public static TextConditioner ForSd2(ClipTokenizer tokenizer, ClipTextModel openClipH, bool holdsLastBlock, ConditioningOptions? options = null, EmbeddingDatabase? embeddings = null) =>
        new(tokenizer, [new(openClipH, HiddenLayer.Sd2(openClipH.Config.Layers, holdsLastBlock), PadWithZeros: true, Pooled: false)], options, embeddings: embeddings);

    /// <summary>SDXL: CLIP-L (penultimate, EOS padding) and bigG (penultimate, zero padding, pooled), 768 + 1280 channels.</summary>
    public static TextConditioner ForSdxl(ClipTokenizer tokenizer, ClipTextModel clipL, ClipTextModel bigG, ConditioningOptions? options = null, EmbeddingDatabase? embeddings = null)
    {
        options ??= ConditioningOptions.Default;
        return new(tokenizer,
        [
            new(clipL, HiddenLayer.SdxlClipL(clipL.Config.Layers, options.SdxlClipLSkip ? options.ClipSkip : null), PadWithZeros: false, Pooled: false, "clip_l"),
            new(bigG, HiddenLayer.SdxlBigG(bigG.Config.Layers), PadWithZeros: true, Pooled: true, "clip_g"),
        ], options, zeroEmptyNegative: true, embeddings);
    }

    /// <summary>The SDXL refiner: bigG alone.</summary>
    public static TextConditioner ForSdxlRefiner(ClipTokenizer tokenizer, ClipTextModel bigG, ConditioningOptions? options = null, EmbeddingDatabase? embeddings = null) =>
        new(tokenizer, [new(bigG, HiddenLayer.SdxlBigG(bigG.Config.Layers), PadWithZeros: true, Pooled: true, "clip_g")], options, zeroEmptyNegative: true, embeddings);

    public IBackend Backend { get; }
    public PromptChunker Chunker { get; }
    public IReadOnlyList<ConditioningEncoder> Encoders { get; }
    public bool ZeroEmptyNegative { get; }

    /// <summary>Channels of the cross-attention context (SDXL: 2048).</summary>
    public int ContextDim => Encoders.Sum(e => e.Model.Config.HiddenSize);

    /// <summary>Width of the pooled output, or null when no encoder gives one.</summary>
    public int? PooledDim => Encoders.FirstOrDefault(e => e.Pooled)?.Model.ProjectionDim;

    /// <summary>
    /// The embeddings the encoded prompts used, in the order A1111 lists them under "TI hashes": it encodes the
    /// negative prompt first, then the prompt, each encoder pass putting its embeddings before the earlier ones
    /// (so SDXL, with two encoders, names each twice).
    /// </summary>
    public IReadOnlyList<TextualInversionEmbedding> UsedEmbeddings =>
        [.. _calls.Where(c => c.Negative).Concat(_calls.Where(c => !c.Negative)).Reverse().SelectMany(c => c.Used)];

    /// <summary>Encodes a plan: each distinct AND part schedule and the negative prompt's schedule, once each.</summary>
    public PromptConditioning Condition(PromptPlan plan)
    {
        var owned = new List<TextConditioning>();
        var bySchedule = new Dictionary<PromptSchedule, IReadOnlyDictionary<EncoderText, TextConditioning>>();
        try
        {
            foreach (ComposablePrompt part in plan.Positive)
                if (!bySchedule.ContainsKey(part.Schedule)) bySchedule[part.Schedule] = EncodeSchedule(part.Schedule, owned);
            _encodingNegative = true;
            IReadOnlyDictionary<EncoderText, TextConditioning> negative =
                ZeroEmptyNegative && plan.Negative.IsEmpty ? ZeroSchedule(plan.Negative, owned)
                : bySchedule.TryGetValue(plan.Negative, out var shared) ? shared
                : EncodeSchedule(plan.Negative, owned);
            _encodingNegative = false;
            return new PromptConditioning(plan, bySchedule, negative, owned);
        }
        catch
        {
            foreach (TextConditioning c in owned) c.Dispose();
            throw;
        }
        finally
        {
            _encodingNegative = false;
        }
    }

    /// <summary>
    /// A1111's <c>cond_stage_model(texts)</c>: the texts are one batch (A1111 batches one prompt's scheduled texts),
    /// so shorter texts get filler chunks and emphasis means are taken over the batch. Equal texts are encoded once
    /// and give the same instance. The caller owns the results.
    /// </summary>
    public IReadOnlyList<TextConditioning> Encode(IReadOnlyList<EncoderText> texts)
    {
        if (texts.Count == 0) return [];
        var distinct = new List<EncoderText>();
        var multiplicity = new List<int>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var rowOf = new int[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (!index.TryGetValue(texts[i].Text, out int row))
            {
                index[texts[i].Text] = row = distinct.Count;
                distinct.Add(texts[i]);
                multiplicity.Add(0);
            }
            multiplicity[row]++;
            rowOf[i] = row;
        }
        IReadOnlyList<TextConditioning> encoded = EncodeDistinct([.. distinct.Select(t => t.Fragments)], [.. multiplicity]);
        return [.. rowOf.Select(r => encoded[r])];
    }

    /// <summary>
    /// The empty prompt encoded on its own (A1111's <c>cond_stage_model_empty_prompt</c>, never zeroed), which
    /// A1111's <c>pad_cond_uncond</c> appends to the shorter of cond and uncond. The caller owns it.
    /// </summary>
    public TextConditioning EncodeEmptyPrompt() => EncodeDistinct([[new PromptFragment("", 1.0)]], [1])[0];

    private IReadOnlyDictionary<EncoderText, TextConditioning> EncodeSchedule(PromptSchedule schedule, List<TextConditioning> owned)
    {
        EncoderText[] texts = [.. schedule.Entries.Select(e => e.Text)];
        IReadOnlyList<TextConditioning> encoded = Encode(texts);
        owned.AddRange(encoded.Distinct());
        var map = new Dictionary<EncoderText, TextConditioning>();
        for (int i = 0; i < texts.Length; i++) map[texts[i]] = encoded[i];
        return map;
    }

    /// <summary>SDXL's <c>force_zero_embeddings</c>: zeros shaped like the encoded empty prompt (one chunk).</summary>
    private IReadOnlyDictionary<EncoderText, TextConditioning> ZeroSchedule(PromptSchedule schedule, List<TextConditioning> owned)
    {
        var zeros = new TextConditioning(Backend.Full(new Shape(1, PromptChunk.Length, ContextDim), 0f),
            PooledDim is int p ? Backend.Full(new Shape(1, p), 0f) : null);
        owned.Add(zeros);
        return schedule.Entries.Select(e => e.Text).Distinct().ToDictionary(t => t, _ => zeros);
    }

    private List<TextConditioning> EncodeDistinct(List<IReadOnlyList<PromptFragment>> texts, int[] multiplicity)
    {
        List<IReadOnlyList<PromptChunk>> chunks = [.. texts.Select(t => Chunker.Chunk(t).Chunks)];
        int chunkCount = chunks.Max(c => c.Count);
        PromptChunk filler = Chunker.EmptyChunk();
        // [encoder][chunk index] → [rows, 77, C], weighted
        var contexts = new Tensor[Encoders.Count][];
        Tensor? pooled = null;
        try
        {
            for (int e = 0; e < Encoders.Count; e++)
            {
                RecordEmbeddings(chunks, chunkCount);
                contexts[e] = new Tensor[chunkCount];
                for (int c = 0; c < chunkCount; c++)
                {
                    PromptChunk[] batch = [.. chunks.Select(list => c < list.Count ? list[c] : filler)];
                    contexts[e][c] = EncodeChunk(Encoders[e], batch, multiplicity, c == 0 && Encoders[e].Pooled ? t => pooled = t : null);
                }
            }
            var results = new List<TextConditioning>(texts.Count);
            for (int row = 0; row < texts.Count; row++)
                results.Add(new TextConditioning(Assemble(contexts, row), pooled == null ? null : Backend.Slice(pooled, 0, row, 1)));
            return results;
        }
        finally
        {
            foreach (Tensor[]? perChunk in contexts)
                foreach (Tensor? t in perChunk ?? [])
                    t?.Dispose();
            pooled?.Dispose();
        }
    }

    /// <summary>One encoder pass's embeddings, chunk by chunk, as A1111 collects them for "TI hashes".</summary>
    private void RecordEmbeddings(List<IReadOnlyList<PromptChunk>> chunks, int chunkCount)
    {
        var used = new List<TextualInversionEmbedding>();
        for (int c = 0; c < chunkCount; c++)
            foreach (IReadOnlyList<PromptChunk> list in chunks)
                if (c < list.Count)
                    foreach (EmbeddingFix fix in list[c].Fixes)
                        if (!used.Any(u => u.Name == fix.Embedding.Name)) used.Add(fix.Embedding);
        if (used.Count > 0) _calls.Add((_encodingNegative, used));
    }

    /// <summary>One chunk index for the whole batch through one encoder: [rows, 77, C], emphasis applied.</summary>
    private Tensor EncodeChunk(ConditioningEncoder encoder, PromptChunk[] batch, int[] multiplicity, Action<Tensor>? takePooled)
    {
        var ids = new int[batch.Length * PromptChunk.Length];
        var weights = new float[ids.Length];
        int eos = Chunker.Tokenizer.EosId;
        for (int r = 0; r < batch.Length; r++)
        {
            Span<int> row = ids.AsSpan(r * PromptChunk.Length, PromptChunk.Length);
            for (int t = 0; t < PromptChunk.Length; t++)
            {
                row[t] = batch[r].Tokens[t];
                weights[r * PromptChunk.Length + t] = batch[r].Weights[t];
            }
            // OpenCLIP pads with 0 after the first EOS (A1111's id_pad); the pooled output still reads that EOS.
            if (encoder.PadWithZeros) row[(row.IndexOf(eos) + 1)..].Clear();
        }
        HiddenLayer hidden = encoder.Hidden;
        // The pooled output (first chunk only) needs every layer; the context only those up to its hidden state.
        int layers = takePooled != null ? encoder.Model.Config.Layers : hidden.Layers;
        var overrides = new List<TokenOverride>();
        for (int r = 0; r < batch.Length; r++)
            foreach (EmbeddingFix fix in batch[r].Fixes)
            {
                var (values, width) = fix.Embedding.Vectors(encoder.EmbeddingKey);
                // A fix the chunk cannot hold whole is cut at the chunk's end, as A1111's tensor slice assignment does.
                int count = Math.Min(values.Length / width, PromptChunk.Capacity - fix.Offset);
                overrides.Add(new TokenOverride(r, 1 + fix.Offset, values[..(count * width)], count));
            }
        using ClipTextOutput output = encoder.Model.Encode(ids, batch.Length, layers, keep: [hidden.Layers], overrides);
        if (takePooled != null) takePooled(output.Projected());
        if (!hidden.FinalLayerNorm) return Emphasis.Apply(output.Hidden(hidden.Layers), weights, multiplicity, _options.Emphasis);
        using Tensor normed = output.FinalLayerNorm(hidden.Layers);
        return Emphasis.Apply(normed, weights, multiplicity, _options.Emphasis);
    }

    /// <summary>One text's context: its row of every chunk along the tokens, the encoders side by side along the channels.</summary>
    private Tensor Assemble(Tensor[][] contexts, int row)
    {
        var perEncoder = new List<Tensor>(contexts.Length);
        try
        {
            foreach (Tensor[] chunks in contexts)
            {
                var views = chunks.Select(t => t.SliceBatch(row, 1)).ToList();
                try { perEncoder.Add(Backend.Concat(views, axis: 1)); }
                finally { views.ForEach(v => v.Dispose()); }
            }
            if (perEncoder.Count == 1)
            {
                Tensor only = perEncoder[0];
                perEncoder.Clear();
                return only;
            }
            return Backend.Concat(perEncoder, axis: 2);
        }
        finally
        {
            perEncoder.ForEach(t => t.Dispose());
        }
    }
}
