using SdSharp.Bench;

// Benchmarks print figures; they never assert.
// Usage: SdSharp.Bench <gemm|tokenizer|png|sd-cpu [sd1|sd2|sdxl]|cuda-check [repo]> [--threads N] [--rounds N]
string what = args.Length > 0 ? args[0] : "gemm";
int threads = Option("--threads", Environment.ProcessorCount);
int rounds = Option("--rounds", 5);
switch (what)
{
    case "attention":
        AttentionBench.Run(threads);
        return 0;
    case "gemm":
        GemmBench.Run(threads, rounds);
        return 0;
    case "tokenizer":
        TokenizerBench.Run();
        return 0;
    case "vae":
        VaeBench.Run();
        return 0;
    case "png":
        return PngBench.Run();
    case "cuda-check":
        return CudaCheck.Run(args.Length > 1 && !args[1].StartsWith("--") ? args[1] : Directory.GetCurrentDirectory());
    case "verify-full":
        return VerifyFull.Run(args[1]);
    case "gpu":
        return GpuBench.Run(args[1], args[2], args.Length > 3 ? SdSharp.Tensors.DTypeInfo.Parse(args[3]) : SdSharp.Tensors.DType.F16);
    case "sd-cpu":
        SdCpuBench.Run(threads, args.Length > 1 && !args[1].StartsWith("--") ? args[1] : "sd1");
        return 0;
    case "adherence": // adherence DIR [--heldout PATH]: scores generated held-out images
        return SdSharp.Bench.Adherence.AdherenceBench.Run(args);
    default:
        Console.Error.WriteLine($"unknown benchmark '{what}'; available: gemm, tokenizer, png, vae, sd-cpu, cuda-check, gpu, verify-full, adherence");
        return 2;
}

int Option(string name, int fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) ? v : fallback;
}
