using System.Diagnostics;
using System.Globalization;
using SdSharp.Text;

namespace SdSharp.Bench;

/// <summary>
/// CLIP tokenizer speed: loading the merge list, and encoding a 1,000-word prompt cold (every word new to
/// the cache) and warm (the figure that matters: prompts repeat their words across generations).
/// </summary>
public static class TokenizerBench
{
    public static void Run() => Run(null);

    /// <param name="mergeListPath">OpenAI's bpe_simple_vocab_16e6.txt.gz; by default shared/data/clip beside the checkout.</param>
    public static void Run(string? mergeListPath)
    {
        string path = mergeListPath ?? FindMergeList();
        var load = Stopwatch.StartNew();
        var tok = ClipTokenizer.FromMergeList(path);
        Report("load merge list", load.Elapsed.TotalMilliseconds, "ms");

        string prompt = MakePrompt(words: 1000, seed: 1);
        var cold = Stopwatch.StartNew();
        int tokens = tok.Encode(prompt).Length;
        Report($"1,000-word prompt, cold ({tokens} tokens)", cold.Elapsed.TotalMilliseconds, "ms");

        // Warm-up long enough for tiered JIT to reach its optimised code (it compiles in the background).
        for (int i = 0; i < 1000; i++) tok.Encode(prompt);
        Thread.Sleep(200);
        const int runs = 3000;
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            tok.Encode(prompt);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(times);
        Report("1,000-word prompt, warm, median", times[runs / 2], "µs");
        Report("1,000-word prompt, warm, p90", times[runs * 9 / 10], "µs");

        // Words never seen: the BPE merge itself, per word.
        string fresh = MakePrompt(words: 20_000, seed: 2, novel: true);
        var novel = Stopwatch.StartNew();
        tok.EncodeWithoutSpecials(fresh);
        Report("uncached word (BPE), mean", novel.Elapsed.TotalMicroseconds / 20_000, "µs");
    }

    private static void Report(string what, double value, string unit) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tokenizer  {what,-44} {value,10:F1} {unit}"));

    /// <summary>A comma-separated prompt of common prompt words (or random letter strings when novel).</summary>
    private static string MakePrompt(int words, int seed, bool novel = false)
    {
        string[] vocabulary = ("masterpiece best quality highly detailed portrait of a woman cat castle forest mountain sunset "
            + "cyberpunk fantasy anime photorealistic cinematic lighting volumetric fog bokeh depth field trending on "
            + "artstation by greg rutkowski 8k uhd dslr film grain intricate elegant sharp focus illustration concept art").Split(' ');
        var rng = new Random(seed);
        var parts = new string[words];
        for (int i = 0; i < words; i++)
            parts[i] = novel
                ? new string([.. Enumerable.Range(0, rng.Next(4, 12)).Select(_ => (char)('a' + rng.Next(26)))])
                : vocabulary[rng.Next(vocabulary.Length)] + (rng.Next(4) == 0 ? "," : "");
        return string.Join(' ', parts);
    }

    private static string FindMergeList()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "data", "clip", "bpe_simple_vocab_16e6.txt.gz");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("bpe_simple_vocab_16e6.txt.gz not found in any shared/data/clip above " + AppContext.BaseDirectory);
    }
}
