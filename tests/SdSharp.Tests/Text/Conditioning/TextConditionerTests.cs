using SdSharp.Tensors;
using SdSharp.Tests.Tensors;
using SdSharp.Tests.Text.Tokenizer;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Encoders;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Conditioning;

/// <summary>
/// A1111's conditioning rules on the tiny fixture encoders (whose outputs match transformers: see ClipTextModelTests),
/// checked against the rules written out on the host.
/// </summary>
public sealed class TextConditionerTests(TinyEncoders tiny) : IClassFixture<TinyEncoders>
{
    private const double Tolerance = 1e-5;
    private static readonly int L = 3;   // layers of every tiny encoder (SD 2's diffusers copy: 2)

    private static PromptPlan Plan(string prompt, string negative = "", int steps = 20) => PromptPlanner.Plan(prompt, negative, steps);

    private static TextConditioning Positive(PromptConditioning c, int step = 1, int part = 0) => c.ConditioningAt(step).Positive[part].Conditioning;

    /// <summary>Chunk <paramref name="chunk"/> of a [1, 77·k, C] context, channels [from, from+count).</summary>
    private static float[] Part(Tensor context, int chunk, int from = 0, int? count = null)
    {
        float[] all = context.ToArray();
        int c = context.Shape[2], n = count ?? c - from;
        var part = new float[PromptChunk.Length * n];
        for (int t = 0; t < PromptChunk.Length; t++)
            Array.Copy(all, ((chunk * PromptChunk.Length) + t) * c + from, part, t * n, n);
        return part;
    }

    [Theory]
    [InlineData(EmphasisMode.Original)]
    [InlineData(EmphasisMode.NoNorm)]
    [InlineData(EmphasisMode.Ignore)]
    public void Sd1_weights_each_token_and_restores_the_chunk_mean(EmphasisMode mode)
    {
        const string prompt = "a (photo:1.4) of a [cat], (on a mat:0.7)";
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1, new ConditioningOptions { Emphasis = mode });
        using var c = conditioner.Condition(Plan(prompt));
        Tensor context = Positive(c).CrossAttention;
        Assert.Equal(new Shape(1, 77, 32), context.Shape);

        PromptChunk chunk = TinyEncoders.Chunks(prompt)[0];
        float[] raw = TinyEncoders.Raw(tiny.Sd1, chunk, new HiddenLayer(L, true));
        float[] got = context.ToArray();
        Reference.AssertClose(TinyEncoders.Emphasised([raw], [chunk], 0, mode), got, Tolerance, mode.ToString());
        if (mode == EmphasisMode.Original) Assert.Equal(TinyEncoders.Mean(raw), TinyEncoders.Mean(got), 6);
        if (mode != EmphasisMode.Ignore) Assert.True(raw.Zip(got, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "weights had no effect");
    }

    [Theory]
    [InlineData(1, 3)]   // last_hidden_state
    [InlineData(2, 2)]
    [InlineData(4, 0)]   // hidden_states[−4] of a 3-layer model: the embeddings, still final-normed
    public void Sd1_clip_skip_reads_hidden_states_from_the_end_through_the_final_norm(int clipSkip, int layers)
    {
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1, new ConditioningOptions { ClipSkip = clipSkip });
        Assert.Equal(new HiddenLayer(layers, true), conditioner.Encoders[0].Hidden);
        using var c = conditioner.Condition(Plan("a cat on a mat"));
        float[] expected = TinyEncoders.Raw(tiny.Sd1, TinyEncoders.Chunks("a cat on a mat")[0], new HiddenLayer(layers, true));
        Reference.AssertClose(expected, Positive(c).CrossAttention.ToArray(), Tolerance, $"clip skip {clipSkip}");
    }

    [Fact]
    public void Clip_skip_beyond_the_model_is_a_user_error()
    {
        Assert.Throws<InvalidInputException>(() => TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1, new ConditioningOptions { ClipSkip = 5 }));
        Assert.Throws<InvalidInputException>(() => TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1, new ConditioningOptions { ClipSkip = 0 }));
    }

    [Fact]
    public void Per_family_hidden_layer_rules_at_real_sizes()
    {
        Assert.Equal(new HiddenLayer(12, true), HiddenLayer.Sd1(12, clipSkip: 1));
        Assert.Equal(new HiddenLayer(11, true), HiddenLayer.Sd1(12, clipSkip: 2));
        Assert.Equal(new HiddenLayer(23, true), HiddenLayer.Sd2(24, holdsLastBlock: true));    // SD 2 single file
        Assert.Equal(new HiddenLayer(23, true), HiddenLayer.Sd2(23, holdsLastBlock: false));   // diffusers' SD 2 text_encoder
        Assert.Equal(new HiddenLayer(11, false), HiddenLayer.SdxlClipL(12));                    // hidden_states[11]
        Assert.Equal(new HiddenLayer(12, false), HiddenLayer.SdxlClipL(12, clipSkip: 1));       // sdxl_clip_l_skip
        Assert.Equal(new HiddenLayer(31, false), HiddenLayer.SdxlBigG(32));
    }

    [Fact]
    public void Sd2_uses_the_penultimate_block_final_normed_and_pads_with_zeros_from_either_layout()
    {
        const string prompt = "a (cat:1.2) on a mat";
        PromptChunk chunk = TinyEncoders.Chunks(prompt)[0];
        float[] raw = TinyEncoders.Raw(tiny.Sd2Single, chunk, new HiddenLayer(2, true), zeroPad: true);
        float[] expected = TinyEncoders.Emphasised([raw], [chunk], 0);

        var single = TextConditioner.ForSd2(TinyEncoders.Tokenizer, tiny.Sd2Single, holdsLastBlock: true,
            new ConditioningOptions { ClipSkip = 2 });   // SD 2 ignores clip skip
        var diffusers = TextConditioner.ForSd2(TinyEncoders.Tokenizer, tiny.Sd2Diffusers, holdsLastBlock: false);
        using var a = single.Condition(Plan(prompt));
        using var b = diffusers.Condition(Plan(prompt));
        Reference.AssertClose(expected, Positive(a).CrossAttention.ToArray(), Tolerance, "single file");
        Reference.AssertClose(expected, Positive(b).CrossAttention.ToArray(), Tolerance, "diffusers");

        // The padding matters: EOS padding gives other vectors after the first EOS.
        float[] eosPadded = TinyEncoders.Raw(tiny.Sd2Single, chunk, new HiddenLayer(2, true), zeroPad: false);
        Assert.True(raw.Zip(eosPadded, (x, y) => Math.Abs(x - y)).Max() > 1e-3);
    }

    [Fact]
    public void Sdxl_joins_both_penultimate_states_without_final_norm_and_pools_bigG()
    {
        const string prompt = "a (cat:1.3) on a mat";
        PromptChunk chunk = TinyEncoders.Chunks(prompt)[0];
        float[] l = TinyEncoders.Emphasised([TinyEncoders.Raw(tiny.SdxlL, chunk, new HiddenLayer(2, false))], [chunk], 0);
        float[] g = TinyEncoders.Emphasised([TinyEncoders.Raw(tiny.SdxlG, chunk, new HiddenLayer(2, false), zeroPad: true)], [chunk], 0);
        float[] pooled = TinyEncoders.Pooled(tiny.SdxlG, chunk);   // never weighted

        foreach (var (clipL, bigG, layout) in new[] { (tiny.SdxlL, tiny.SdxlG, "single file"), (tiny.SdxlLDiffusers, tiny.SdxlGDiffusers, "diffusers") })
        {
            var conditioner = TextConditioner.ForSdxl(TinyEncoders.Tokenizer, clipL, bigG);
            Assert.Equal((64, 32), (conditioner.ContextDim, conditioner.PooledDim));
            using var c = conditioner.Condition(Plan(prompt));
            TextConditioning cond = Positive(c);
            Assert.Equal(new Shape(1, 77, 64), cond.CrossAttention.Shape);
            Reference.AssertClose(l, Part(cond.CrossAttention, 0, 0, 32), Tolerance, $"{layout} CLIP-L");
            Reference.AssertClose(g, Part(cond.CrossAttention, 0, 32, 32), Tolerance, $"{layout} bigG");
            Assert.Equal(new Shape(1, 32), cond.Pooled!.Shape);
            Reference.AssertClose(pooled, cond.Pooled.ToArray(), Tolerance, $"{layout} pooled");
        }
    }

    [Fact]
    public void Sdxl_pools_only_the_first_chunk()
    {
        string prompt = string.Join(", ", Enumerable.Repeat("a cat", 40));   // more than 75 tokens
        IReadOnlyList<PromptChunk> chunks = TinyEncoders.Chunks(prompt);
        Assert.True(chunks.Count > 1);
        var conditioner = TextConditioner.ForSdxl(TinyEncoders.Tokenizer, tiny.SdxlL, tiny.SdxlG);
        using var c = conditioner.Condition(Plan(prompt));
        Assert.Equal(chunks.Count, Positive(c).Chunks);
        Reference.AssertClose(TinyEncoders.Pooled(tiny.SdxlG, chunks[0]), Positive(c).Pooled!.ToArray(), Tolerance, "pooled");
    }

    [Fact]
    public void Sdxl_conditions_an_empty_negative_prompt_with_zeros()
    {
        var conditioner = TextConditioner.ForSdxl(TinyEncoders.Tokenizer, tiny.SdxlL, tiny.SdxlG);
        using var c = conditioner.Condition(Plan("", ""));
        StepConditioning step = c.ConditioningAt(1);
        Assert.Equal(new Shape(1, 77, 64), step.Negative.CrossAttention.Shape);
        Assert.All(step.Negative.CrossAttention.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(step.Negative.Pooled!.ToArray(), v => Assert.Equal(0f, v));
        // The same empty text as a prompt is encoded: only the negative side is zeroed.
        Assert.Contains(step.Positive[0].Conditioning.CrossAttention.ToArray(), v => v != 0);

        using var refiner = TextConditioner.ForSdxlRefiner(TinyEncoders.Tokenizer, tiny.RefinerG).Condition(Plan("cat", ""));
        Assert.All(refiner.ConditioningAt(1).Negative.Pooled!.ToArray(), v => Assert.Equal(0f, v));

        using var sd1 = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1).Condition(Plan("cat", ""));
        Assert.Contains(sd1.ConditioningAt(1).Negative.CrossAttention.ToArray(), v => v != 0);

        using var spaces = conditioner.Condition(Plan("cat", " "));   // not empty: A1111 compares with ''
        Assert.Contains(spaces.ConditioningAt(1).Negative.CrossAttention.ToArray(), v => v != 0);
    }

    [Fact]
    public void The_empty_prompt_for_padding_is_encoded_even_for_sdxl()
    {
        using var sd1 = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1).EncodeEmptyPrompt();
        float[] filler = TinyEncoders.Raw(tiny.Sd1, TinyEncoders.Chunks("")[0], new HiddenLayer(L, true));
        Reference.AssertClose(filler, sd1.CrossAttention.ToArray(), Tolerance, "empty prompt");
        using var sdxl = TextConditioner.ForSdxl(TinyEncoders.Tokenizer, tiny.SdxlL, tiny.SdxlG).EncodeEmptyPrompt();
        Assert.Equal(new Shape(1, 77, 64), sdxl.CrossAttention.Shape);
        Assert.Contains(sdxl.CrossAttention.ToArray(), v => v != 0);
    }

    [Fact]
    public void Refiner_uses_bigG_alone()
    {
        const string prompt = "a [cat] on a mat";
        PromptChunk chunk = TinyEncoders.Chunks(prompt)[0];
        var conditioner = TextConditioner.ForSdxlRefiner(TinyEncoders.Tokenizer, tiny.RefinerG);
        using var c = conditioner.Condition(Plan(prompt));
        float[] g = TinyEncoders.Emphasised([TinyEncoders.Raw(tiny.RefinerG, chunk, new HiddenLayer(2, false), zeroPad: true)], [chunk], 0);
        Assert.Equal(new Shape(1, 77, 32), Positive(c).CrossAttention.Shape);
        Reference.AssertClose(g, Positive(c).CrossAttention.ToArray(), Tolerance, "bigG");
        Reference.AssertClose(TinyEncoders.Pooled(tiny.RefinerG, chunk), Positive(c).Pooled!.ToArray(), Tolerance, "pooled");
    }

    [Fact]
    public void Chunks_are_encoded_apart_and_joined_along_the_tokens()
    {
        string prompt = string.Join(", ", Enumerable.Repeat("a (cat:1.1)", 40));
        IReadOnlyList<PromptChunk> chunks = TinyEncoders.Chunks(prompt);
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1);
        using var c = conditioner.Condition(Plan(prompt));
        Tensor context = Positive(c).CrossAttention;
        Assert.Equal(new Shape(1, 77 * chunks.Count, 32), context.Shape);
        for (int i = 0; i < chunks.Count; i++)
        {
            // Emphasis is applied per chunk: each chunk has its own mean.
            float[] raw = TinyEncoders.Raw(tiny.Sd1, chunks[i], new HiddenLayer(L, true));
            Reference.AssertClose(TinyEncoders.Emphasised([raw], [chunks[i]], 0), Part(context, i), Tolerance, $"chunk {i}");
        }
    }

    [Fact]
    public void A_schedule_is_one_batch_shorter_texts_get_filler_chunks()
    {
        string longText = string.Join(" ", Enumerable.Repeat("a", 80));   // "a" is one token, also in the tiny vocabulary
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1);
        using var c = conditioner.Condition(Plan($"[dog:{longText}:2]", steps: 4));
        TextConditioning dog = Positive(c, step: 1), cats = Positive(c, step: 3);
        Assert.Equal((2, 2), (dog.Chunks, cats.Chunks));
        // The filler is [BOS] + 76 EOS with weight 1, the empty prompt's chunk.
        float[] filler = TinyEncoders.Raw(tiny.Sd1, conditioner.Chunker.EmptyChunk(), new HiddenLayer(L, true));
        Reference.AssertClose(filler, Part(dog.CrossAttention, 1), Tolerance, "filler chunk");

        // A text alone is not padded.
        using var alone = conditioner.Condition(Plan("dog"));
        Assert.Equal(1, Positive(alone).Chunks);
    }

    [Fact]
    public void Emphasis_means_are_taken_over_the_schedule_batch_repeats_included()
    {
        // Alternation gives a batch of three texts, the first one twice: [a, b, a].
        const string a = "(cat:1.5) on a mat", b = "[dog] on a mat";
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1);
        using var c = conditioner.Condition(Plan("[(cat:1.5)|[dog]] on a mat", steps: 3));
        Assert.Equal(a, c.Plan.Positive[0].Schedule.At(1).Text);
        Assert.Equal(b, c.Plan.Positive[0].Schedule.At(2).Text);

        PromptChunk ca = TinyEncoders.Chunks(a)[0], cb = TinyEncoders.Chunks(b)[0];
        float[] ra = TinyEncoders.Raw(tiny.Sd1, ca, new HiddenLayer(L, true)), rb = TinyEncoders.Raw(tiny.Sd1, cb, new HiddenLayer(L, true));
        float[] expectedA = TinyEncoders.Emphasised([ra, rb, ra], [ca, cb, ca], 0);
        float[] expectedB = TinyEncoders.Emphasised([ra, rb, ra], [ca, cb, ca], 1);
        Reference.AssertClose(expectedA, Positive(c, step: 1).CrossAttention.ToArray(), Tolerance, "a in [a, b, a]");
        Reference.AssertClose(expectedB, Positive(c, step: 2).CrossAttention.ToArray(), Tolerance, "b in [a, b, a]");
        Assert.Same(Positive(c, step: 1), Positive(c, step: 3));

        // Alone, a's mean is its own: a different result.
        float[] aloneA = TinyEncoders.Emphasised([ra], [ca], 0);
        Assert.True(aloneA.Zip(expectedA, (x, y) => Math.Abs(x - y)).Max() > 1e-5, "the batch mean made no difference");
    }

    [Fact]
    public void Steps_pick_scheduled_texts_and_AND_parts_keep_their_weights()
    {
        var conditioner = TextConditioner.ForSd1(TinyEncoders.Tokenizer, tiny.Sd1);
        using var c = conditioner.Condition(Plan("[cat:dog:2] AND bird :0.5 AND[cat:dog:2]", "ugly", steps: 4));
        // cat, dog (one schedule, shared by the equal parts), bird, ugly. (" [cat:dog:2]" would be another text:
        // A1111 keeps the space after AND.)
        Assert.Equal(4, c.DistinctCount);
        StepConditioning s1 = c.ConditioningAt(1), s2 = c.ConditioningAt(2), s3 = c.ConditioningAt(3);
        Assert.Equal([1.0, 0.5, 1.0], s1.Positive.Select(p => p.Weight));
        Assert.Same(s1.Positive[0].Conditioning, s2.Positive[0].Conditioning);
        Assert.NotSame(s2.Positive[0].Conditioning, s3.Positive[0].Conditioning);
        Assert.Same(s3.Positive[0].Conditioning, s3.Positive[2].Conditioning);
        Assert.Same(s1.Negative, s3.Negative);
    }

    [Fact]
    public void A_tokenizer_larger_than_the_encoder_is_refused()
    {
        var e = Assert.Throws<InvalidInputException>(() => TextConditioner.ForSd1(ClipTokenizerTests.Shared.Value, tiny.Sd1));
        Assert.Contains("49408", e.Message);
    }
}
