namespace SdSharp.Sampling.Random;

/// <summary>Which random number source makes the noise (A1111's "Random number generator source").</summary>
public enum NoiseSourceKind
{
    /// <summary>torch's CPU generator (mt19937): A1111 "CPU", diffusers with a CPU generator.</summary>
    Cpu,

    /// <summary>A1111's "NV": Philox on the CPU, close to (not equal to) CUDA's <c>torch.randn</c>.</summary>
    Nv,
}

/// <summary>Makes noise sources from A1111's names and seeds.</summary>
public static class NoiseSources
{
    /// <summary>
    /// Reads A1111's <c>randn_source</c> names, any case: "cpu", "nv", and "gpu". Real CUDA noise cannot be
    /// reproduced off the GPU (its kernel's float rounding is not ours), so "gpu" means the NV generator,
    /// the closest portable stand-in: every value within about 1e-5 of CUDA's, not bit-identical.
    /// </summary>
    public static NoiseSourceKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "cpu" => NoiseSourceKind.Cpu,
        "nv" or "gpu" => NoiseSourceKind.Nv,
        _ => throw new InvalidInputException($"Unknown random number source '{name}': expected CPU, NV or GPU."),
    };

    /// <summary>A fresh generator, as <c>rng.create_generator(seed)</c> makes one.</summary>
    public static INoiseSource Create(NoiseSourceKind kind, ulong seed) => kind switch
    {
        NoiseSourceKind.Cpu => new TorchCpuGenerator(seed),
        NoiseSourceKind.Nv => new PhiloxGenerator(seed),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static INoiseSource Create(string name, ulong seed) => Create(Parse(name), seed);

    /// <summary>A Python-int seed as torch's <c>manual_seed</c> reads it: negatives are two's complement.</summary>
    public static INoiseSource Create(NoiseSourceKind kind, long seed) => Create(kind, unchecked((ulong)seed));

    /// <summary>
    /// A1111's <c>randn_local(seed, shape)</c>: the first <paramref name="count"/> values of a fresh generator,
    /// used for the Brownian-tree samplers' noise.
    /// </summary>
    public static float[] RandnLocal(NoiseSourceKind kind, long seed, int count) => Create(kind, seed).Randn(count);
}
