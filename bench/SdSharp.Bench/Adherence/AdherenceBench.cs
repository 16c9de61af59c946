using SdSharp.Evaluation;
using SdSharp.Imaging;

namespace SdSharp.Bench.Adherence;

/// <summary>
/// Scores a folder of generated held-out images (NNN.png, NNN = the prompt's index in tools/train/heldout.json,
/// as tools/train/evaluate.py writes them) with the C# scorer and prints the rates against the targets.
/// Usage: SdSharp.Bench adherence DIR [--heldout PATH]
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
}
