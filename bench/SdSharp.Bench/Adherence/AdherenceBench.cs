using SdSharp.Evaluation;
using SdSharp.Imaging;

namespace SdSharp.Bench.Adherence;

/// <summary>
/// Scores a folder of generated held-out images (NNN.png, NNN = the prompt's index in tools/train/heldout.json,
/// as tools/train/evaluate.py writes them) with the C# scorer and prints the rates against the targets. With
/// --generate MODEL it first generates them with SdSharp itself (CPU; DPM++ 2M, 20 steps, CFG 7, each prompt's seed).
/// Usage: SdSharp.Bench adherence DIR [--heldout PATH] [--generate MODEL] [--sampler NAME] [--cfg X]
/// </summary>
internal static class AdherenceBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[1].StartsWith("--", StringComparison.Ordinal))
        {
            Console.Error.WriteLine("usage: SdSharp.Bench adherence DIR [--heldout tools/train/heldout.json]");
            return 2;
        }
        string dir = args[1];
        int at = Array.IndexOf(args, "--heldout");
        string heldOutPath = at >= 0 && at + 1 < args.Length ? args[at + 1] : Path.Combine("tools", "train", "heldout.json");
        var set = HeldOutSet.Load(heldOutPath);
        int gen = Array.IndexOf(args, "--generate");
        if (gen >= 0 && gen + 1 < args.Length) Generate(args[gen + 1], set, dir, Option(args, "--sampler") ?? "DPM++ 2M",
            double.Parse(Option(args, "--cfg") ?? "7", System.Globalization.CultureInfo.InvariantCulture));
        var scorer = set.CreateScorer();
        var judgements = new List<AdherenceJudgement>();
        for (int i = 0; i < set.Prompts.Count; i++)
        {
            string path = Path.Combine(dir, $"{i:D3}.png");
            if (!File.Exists(path)) continue;
            var prompt = set.Prompts[i];
            var found = scorer.Score(PngDecoder.Decode(path).Image);
            var judgement = AdherenceJudgement.Of(found, prompt);
            judgements.Add(judgement);
            if (!(judgement.Color && judgement.Background && judgement.Position && judgement.Shape))
                Console.WriteLine($"  {i,3} {prompt.Prompt}: found {found.Color ?? "no object"} {found.Shape} {found.Position} on {found.Background}");
        }
        if (judgements.Count == 0)
        {
            Console.Error.WriteLine($"{dir}: no NNN.png images of held-out prompts");
            return 2;
        }
        var summary = new AdherenceSummary(judgements);
        Console.WriteLine($"{summary.Count} held-out images in {dir}:");
        Console.WriteLine(summary);
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>Every held-out prompt through SdSharp's own pipeline, at the model's native size, one seed each.</summary>
    private static void Generate(string modelPath, HeldOutSet set, string dir, string sampler, double cfg)
    {
        Directory.CreateDirectory(dir);
        using var cpu = new SdSharp.Cpu.CpuBackend();
        using var model = SdSharp.Generation.StableDiffusionModel.Load(modelPath, cpu);
        var generator = new SdSharp.Generation.Generator(model);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < set.Prompts.Count; i++)
        {
            var prompt = set.Prompts[i];
            var request = new SdSharp.Generation.GenerationRequest
            {
                Prompt = prompt.Prompt, Seed = prompt.Seed, Steps = 20, CfgScale = cfg, SamplerName = sampler,
                Width = set.ImageSize, Height = set.ImageSize,
            };
            var image = generator.Generate(request).Images[0];
            SdSharp.Imaging.PngEncoder.Save(image.Image, Path.Combine(dir, $"{i:D3}.png"), [SdSharp.Imaging.PngText.For("parameters", image.Infotext.Text)]);
        }
        Console.WriteLine(FormattableString.Invariant($"generated {set.Prompts.Count} held-out images with SdSharp on {cpu.Name} in {watch.Elapsed.TotalSeconds:F1} s ({watch.Elapsed.TotalSeconds / set.Prompts.Count:F2} s each, {sampler}, 20 steps, CFG {cfg})"));
    }
}
