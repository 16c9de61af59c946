using System.CommandLine;
using SdSharp.IO;
using SdSharp.Merging;

namespace SdSharp.Cli.Commands;

/// <summary>
/// <c>sdsharp merge A B [C] --mode weighted-sum|add-difference --multiplier M [--precision fp16|bf16|fp32]
/// [--bake-vae FILE] [--discard-weights REGEX] -o OUT.safetensors</c>: A1111's Checkpoint Merger, streamed.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(CliConsole console)
    {
        var models = new Argument<string[]>("models") { Description = "A and B (weighted-sum), or A, B and C (add-difference): single-file checkpoints.", Arity = new ArgumentArity(2, 3) };
        var mode = new Option<string>("--mode") { Description = "weighted-sum: A·(1-M) + B·M; add-difference: A + (B-C)·M.", DefaultValueFactory = _ => "weighted-sum" };
        var multiplier = new Option<double>("--multiplier", "-M") { Description = "M (A1111's default 0.3).", DefaultValueFactory = _ => 0.3 };
        var precision = new Option<string?>("--precision") { Description = "Write every float tensor as fp16, bf16 or fp32 (default: each keeps the type A1111's merge gives it)." };
        var bakeVae = new Option<string?>("--bake-vae") { Description = "A VAE file whose weights replace the result's first_stage_model.*." };
        var discard = new Option<string?>("--discard-weights") { Description = "Leave out keys matching this regular expression (e.g. model_ema)." };
        var output = new Option<string>("--output", "-o") { Description = "The merged checkpoint (.safetensors).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace OUT if it exists (atomically, once the merge is complete)." };
        var command = new Command("merge", "Merge checkpoints as AUTOMATIC1111's Checkpoint Merger does (weighted sum, add difference), tensor by tensor.")
        {
            models, mode, multiplier, precision, bakeVae, discard, output, overwrite,
        };
        command.SetAction(parse =>
        {
            string[] paths = parse.GetValue(models)!;
            var options = new MergeOptions
            {
                Mode = parse.GetValue(mode) switch
                {
                    "weighted-sum" => MergeMode.WeightedSum,
                    "add-difference" => MergeMode.AddDifference,
                    var other => throw new InvalidInputException($"--mode {other}: expected weighted-sum or add-difference"),
                },
                Multiplier = parse.GetValue(multiplier),
                Precision = parse.GetValue(precision) switch
                {
                    null => null,
                    "fp16" => ElementType.F16,
                    "bf16" => ElementType.BF16,
                    "fp32" => ElementType.F32,
                    var other => throw new InvalidInputException($"--precision {other}: expected fp16, bf16 or fp32"),
                },
                BakeVae = parse.GetValue(bakeVae),
                DiscardWeights = parse.GetValue(discard),
                Overwrite = parse.GetValue(overwrite),
            };
            var result = CheckpointMerger.Merge(paths[0], paths[1], paths.Length > 2 ? paths[2] : null, parse.GetValue(output)!, options);
            console.Error.WriteLine(Summary(result, options));
            console.Out.WriteLine(result.Path);
            return 0;
        });
        return command;
    }

    private static string Summary(MergeResult r, MergeOptions options)
    {
        var parts = new List<string> { $"{CheckpointMerger.Describe(options.Mode, options.Multiplier)}: {r.Merged} tensors merged" };
        if (r.Inpainting) parts.Add("inpainting model (A's first 4 input channels merged)");
        if (r.InstructPix2Pix) parts.Add("InstructPix2Pix model (A's first 4 input channels merged)");
        if (r.KeptFromA > 0) parts.Add($"{r.KeptFromA} kept from A");
        if (r.OnlyInB > 0) parts.Add($"{r.OnlyInB} only in B left out");
        if (r.BakedVae > 0) parts.Add($"{r.BakedVae} from the VAE");
        if (r.Discarded > 0) parts.Add($"{r.Discarded} discarded");
        return string.Join("; ", parts);
    }
}
