using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SdSharp.Generation;
using SdSharp.Text;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Prompts;

namespace SdSharp.Cli.Commands;

/// <summary>
/// <c>sdsharp tokenize [-m MODEL | --tokenizer PATH] PROMPT [--json]</c>: the prompt as A1111 feeds it to CLIP. The prompt is
/// read as A1111 reads it (comments, extra-network tags, AND parts, prompt editing over --steps), and each text the
/// encoder would see is shown cut into 75-token chunks, with each token's id, vocabulary text and emphasis weight.
/// </summary>
internal static class TokenizeCommand
{
    private const string MergeListName = "bpe_simple_vocab_16e6.txt.gz";

    public static Command Create(CliConsole console)
    {
        var prompt = new Argument<string>("prompt") { Description = "The prompt, in A1111's syntax." };
        var tokenizer = new Option<string?>("--tokenizer")
        {
            Description = $"OpenAI's {MergeListName}, a tokenizer folder (vocab.json + merges.txt, or tokenizer.json) or a diffusers model folder. " +
                          "Default: the model's own, else the cached or shared merge list.",
        };
        var model = new Option<string?>("--model", "-m") { Description = "Use this model's tokenizer (a diffusers folder's own; single files use OpenAI's merge list)." };
        var steps = new Option<int>("--steps") { Description = "Sampling steps, for prompt editing ([a:b:0.5]).", DefaultValueFactory = _ => 20 };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("tokenize", "Show how a prompt is cut into CLIP tokens and 75-token chunks, with emphasis weights.")
        {
            prompt, model, tokenizer, steps, json,
        };
        command.SetAction(parse =>
        {
            int stepCount = parse.GetValue(steps);
            if (stepCount < 1) throw new InvalidInputException($"--steps {stepCount}: must be at least 1");
            ClipTokenizer tok = LoadTokenizer(parse.GetValue(tokenizer), parse.GetValue(model));
            PromptPlan plan = PromptPlanner.Plan(parse.GetValue(prompt)!, "", stepCount);
            var chunker = new PromptChunker(tok);
            // Every text the positive side uses, each once, in the order the schedules reach them.
            var texts = plan.Positive.SelectMany(p => p.Schedule.Entries.Select(e => e.Text)).Distinct()
                .Select(t => (Text: t, Chunked: chunker.Chunk(t.Fragments))).ToList();
            if (parse.GetValue(json)) WriteJson(console.Out, tok, plan, texts);
            else WriteText(console.Out, tok, plan, texts);
            return 0;
        });
        return command;
    }

    private static ClipTokenizer LoadTokenizer(string? path, string? model)
    {
        if (path != null)
        {
            if (File.Exists(path)) return ClipTokenizer.FromMergeList(path);
            if (!Directory.Exists(path)) throw new InvalidInputException($"--tokenizer {path}: no such file or folder");
            string inner = Path.Combine(path, "tokenizer");
            return ClipTokenizer.FromFolder(!ClipTokenizer.IsFolder(path) && Directory.Exists(inner) ? inner : path);
        }
        if (model != null)
        {
            if (!File.Exists(model) && !Directory.Exists(model)) throw new InvalidInputException($"-m {model}: no such file or folder");
            // A diffusers folder carries its tokenizer (SDXL refiners only tokenizer_2); single files use OpenAI's vocabulary.
            foreach (string name in new[] { "tokenizer", "tokenizer_2" })
                if (ClipTokenizer.IsFolder(Path.Combine(model, name))) return ClipTokenizer.FromFolder(Path.Combine(model, name));
        }
        foreach (string candidate in StableDiffusionModel.DefaultMergeLists())
            if (File.Exists(candidate)) return ClipTokenizer.FromMergeList(candidate);
        throw new InvalidInputException($"no CLIP tokenizer found (looked in the cache and ../shared/data/clip/{MergeListName}); pass --tokenizer PATH");
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Weight(float w) => w.ToString("0.####", CultureInfo.InvariantCulture);

    private static void WriteText(TextWriter output, ClipTokenizer tok, PromptPlan plan, List<(EncoderText Text, ChunkedPrompt Chunked)> texts)
    {
        if (plan.ExtraNetworks.Count > 0) output.WriteLine($"extra networks: {string.Join(' ', plan.ExtraNetworks)}");
        foreach (var (text, chunked) in texts)
        {
            int chunks = chunked.Chunks.Count;
            // A1111's counter: tokens used of the chunks' capacity.
            output.WriteLine($"\"{text.Text}\": {chunked.TokenCount}/{chunks * PromptChunk.Capacity} tokens in {Count(chunks, "chunk")}");
            for (int c = 0; c < chunks; c++)
            {
                PromptChunk chunk = chunked.Chunks[c];
                output.WriteLine($"  chunk {c + 1}: {Count(chunk.PromptTokens, "token")} (+{PromptChunk.Capacity - chunk.PromptTokens} EOS padding)");
                for (int i = 1; i <= chunk.PromptTokens; i++)
                    output.WriteLine($"    {chunk.Tokens[i],6}  {tok.TokenText(chunk.Tokens[i]),-24} {Weight(chunk.Weights[i])}");
            }
        }
    }

    private static void WriteJson(TextWriter output, ClipTokenizer tok, PromptPlan plan, List<(EncoderText Text, ChunkedPrompt Chunked)> texts)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("extra_networks");
            foreach (ExtraNetworkTag tag in plan.ExtraNetworks) w.WriteStringValue(tag.ToString());
            w.WriteEndArray();
            w.WriteStartArray("texts");
            foreach (var (text, chunked) in texts)
            {
                w.WriteStartObject();
                w.WriteString("text", text.Text);
                w.WriteNumber("token_count", chunked.TokenCount);
                w.WriteStartArray("chunks");
                foreach (PromptChunk chunk in chunked.Chunks)
                {
                    w.WriteStartObject();
                    w.WriteStartArray("ids");                       // all 77, as the encoder gets them
                    foreach (int id in chunk.Tokens) w.WriteNumberValue(id);
                    w.WriteEndArray();
                    w.WriteStartArray("weights");
                    foreach (float weight in chunk.Weights) w.WriteNumberValue(weight);
                    w.WriteEndArray();
                    w.WriteStartArray("tokens");                    // the prompt's own tokens
                    for (int i = 1; i <= chunk.PromptTokens; i++)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("id", chunk.Tokens[i]);
                        w.WriteString("text", tok.TokenText(chunk.Tokens[i]));
                        w.WriteNumber("weight", chunk.Weights[i]);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
