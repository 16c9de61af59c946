namespace SdSharp.Generation.Infotext;

/// <summary>
/// Collects an image's parameters into A1111's order: the keys <c>create_infotext</c> lists itself come in its
/// fixed order wherever they are set; any other key (A1111's <c>extra_generation_params</c>: hires, LoRA
/// hashes, mask blur, ...) follows in the order first set; Version and User close the line. Setting a key again
/// replaces its value and keeps its place, like assigning to a Python dict. A null value is Python's None: the
/// key is not written.
/// </summary>
public sealed class InfotextBuilder
{
    /// <summary>The keys of <c>create_infotext</c>'s own dict (A1111 v1.10), in its order.</summary>
    public static IReadOnlyList<string> FixedKeys { get; } =
    [
        "Steps", "Sampler", "Schedule type", "CFG scale", "Image CFG scale", "Seed", "Face restoration", "Size",
        "Model hash", "Model", "FP8 weight", "Cache FP16 weight for LoRA", "VAE hash", "VAE", "Variation seed",
        "Variation seed strength", "Seed resize from", "Denoising strength", "Conditional mask weight", "Clip skip",
        "ENSD", "Token merging ratio", "Token merging ratio hr", "Init image hash", "RNG", "Tiling",
    ];

    /// <summary>The keys written after every extra parameter.</summary>
    public static IReadOnlyList<string> ClosingKeys { get; } = ["Version", "User"];

    private readonly Dictionary<string, string> _values = [];
    private readonly List<string> _extraOrder = [];

    public InfotextBuilder(string prompt, string negativePrompt = "")
    {
        Prompt = prompt;
        NegativePrompt = negativePrompt;
    }

    public string Prompt { get; }

    public string NegativePrompt { get; }

    public InfotextBuilder Set(string key, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (value == null)
        {
            _values.Remove(key);
            return this;
        }
        bool isExtra = !FixedKeys.Contains(key) && !ClosingKeys.Contains(key);
        if (isExtra && !_extraOrder.Contains(key)) _extraOrder.Add(key);
        _values[key] = value;
        return this;
    }

    public InfotextBuilder Set(string key, long? value) => Set(key, value is long v ? PythonText.Str(v) : null);

    public InfotextBuilder Set(string key, double? value) => Set(key, value is double v ? PythonText.Str(v) : null);

    public InfotextBuilder Set(string key, bool? value) => Set(key, value is bool v ? PythonText.Str(v) : null);

    public ImageInfotext Build()
    {
        var parameters = new List<KeyValuePair<string, string>>();
        foreach (string key in FixedKeys.Concat(_extraOrder).Concat(ClosingKeys))
            if (_values.TryGetValue(key, out string? value)) parameters.Add(new(key, value));
        return new ImageInfotext(Prompt, NegativePrompt, parameters);
    }
}
