using SdSharp.Bench;

// Benchmarks print figures; they never assert.
// Usage: SdSharp.Bench <gemm|tokenizer|png> [--threads N] [--rounds N]
string what = args.Length > 0 ? args[0] : "gemm";
int threads = Option("--threads", Environment.ProcessorCount);
int rounds = Option("--rounds", 5);
switch (what)
{
    case "gemm":
        GemmBench.Run(threads, rounds);
        return 0;
    case "tokenizer":
        TokenizerBench.Run();
        return 0;
    case "png":
        return PngBench.Run();
    case "adherence": // adherence DIR [--heldout PATH]: scores generated held-out images
        return SdSharp.Bench.Adherence.AdherenceBench.Run(args);
    default:
        Console.Error.WriteLine($"unknown benchmark '{what}'; available: gemm, tokenizer, png");
        return 2;
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
}
