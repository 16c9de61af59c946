using SdSharp.Generation.Infotext;
using SdSharp.IO;

namespace SdSharp.Merging;

/// <summary>A1111's interpolation methods: A·(1−M) + B·M, or A + (B − C)·M.</summary>
public enum MergeMode { WeightedSum, AddDifference }

/// <summary>What A1111's Checkpoint Merger tab asks for, minus what only makes sense in its UI.</summary>
public sealed record MergeOptions
{
    public MergeMode Mode { get; init; } = MergeMode.WeightedSum;

    /// <summary>M; A1111's slider starts at 0.3.</summary>
    public double Multiplier { get; init; } = 0.3;

    /// <summary>
    /// Every floating-point tensor of the output in this type (F16, BF16, F32). Null keeps A1111's types: a merged
    /// tensor gets the type torch's arithmetic gives it (fp16 with fp16 stays fp16, fp16 with fp32 becomes fp32),
    /// every other tensor keeps its own.
    /// </summary>
    public ElementType? Precision { get; init; }

    /// <summary>A VAE file whose weights replace A's first_stage_model.* (any layout <c>--vae</c> reads).</summary>
    public string? BakeVae { get; init; }

    /// <summary>A regular expression: keys it finds (anywhere in the name, as Python's re.search) are left out.</summary>
    public string? DiscardWeights { get; init; }

    /// <summary>Replace an existing output file (atomically, at the end); otherwise an existing file is an error.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Where the inputs' SHA-256 for the merge recipe come from; null: <see cref="ModelHashes.Default"/>.</summary>
    public ModelHashes? Hashes { get; init; }
}

/// <summary>What a merge did, for the command's report.</summary>
public sealed record MergeResult(
    string Path,
    int Tensors,
    int Merged,
    int KeptFromA,
    int OnlyInB,
    int BakedVae,
    int Discarded,
    bool Inpainting,
    bool InstructPix2Pix,
    IReadOnlyDictionary<string, string> Metadata);
