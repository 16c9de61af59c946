using System.Text.RegularExpressions;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// The end of A1111's <c>parse_generation_parameters</c>: the values it assumes for keys an infotext leaves out
/// (an absent "RNG" means the GPU generator, an absent "Clip skip" means 1, ...), the old hires-fix layout
/// ("First pass size") rewritten into today's, and <c>infotext_versions.backcompat</c>: images from older A1111
/// versions get the compatibility flags that reproduce them. A1111's settings are taken at their defaults
/// (backcompat on, no keys skipped, old hires sizes off).
/// </summary>
internal static partial class InfotextDefaults
{
    private static readonly Pep440Version V160 = Pep440Version.Parse("1.6.0");
    private static readonly Pep440Version V170Tsnr = Pep440Version.Parse("v1.7.0-225");
    private static readonly Pep440Version V180 = Pep440Version.Parse("1.8.0");

    public static void Apply(OrderedDictionary<string, object> d, HashSet<string> written)
    {
        d.TryAdd("Clip skip", "1");

        if (d.TryGetValue("Hypernet", out object? hypernet))
        {
            string strength = d.TryGetValue("Hypernet strength", out object? s) ? ParsedInfotext.AsText(s) : "1.0";
            d["Prompt"] = ParsedInfotext.AsText(d["Prompt"]) + $"<hypernet:{ParsedInfotext.AsText(hypernet)}:{strength}>";
        }

        if (!d.ContainsKey("Hires resize-1"))
        {
            d["Hires resize-1"] = 0L;
            d["Hires resize-2"] = 0L;
        }
        d.TryAdd("Hires sampler", "Use same sampler");
        d.TryAdd("Hires checkpoint", "Use same checkpoint");
        d.TryAdd("Hires prompt", "");
        d.TryAdd("Hires negative prompt", "");
        d.TryAdd("Mask mode", "Inpaint masked");
        d.TryAdd("Masked content", "original");
        d.TryAdd("Inpaint area", "Whole picture");
        d.TryAdd("Masked area padding", 32L);

        RestoreOldHiresFix(d, written);

        d.TryAdd("RNG", "GPU");
        d.TryAdd("Schedule type", "Automatic");
        d.TryAdd("Schedule max sigma", 0L);
        d.TryAdd("Schedule min sigma", 0L);
        d.TryAdd("Schedule rho", 0L);
        d.TryAdd("VAE Encoder", "Full");
        d.TryAdd("VAE Decoder", "Full");
        d.TryAdd("FP8 weight", "Disable");
        if (!d.ContainsKey("Cache FP16 weight for LoRA") && !"Disable".Equals(d["FP8 weight"]))
            d["Cache FP16 weight for LoRA"] = false;

        Backcompat(d);
    }

    /// <summary>
    /// Infotexts from before A1111 1.0 give the first pass as "First pass size" and the final size as "Size";
    /// today "Size" is the first pass and "Hires resize" the final one. 0x0 meant "choose a first pass of about
    /// 512×512 pixels".
    /// </summary>
    private static void RestoreOldHiresFix(OrderedDictionary<string, object> d, HashSet<string> written)
    {
        if (!TryGetInt(d, "First pass size-1", out long firstWidth) || !TryGetInt(d, "First pass size-2", out long firstHeight))
            return;
        long width = d.ContainsKey("Size-1") ? (TryGetInt(d, "Size-1", out long w) ? w : 512) : 512;
        long height = d.ContainsKey("Size-2") ? (TryGetInt(d, "Size-2", out long h) ? h : 512) : 512;
        if (firstWidth == 0 || firstHeight == 0)
        {
            if (width * height == 0) return; // A1111 divides by zero here; leave the sizes alone
            double scale = Math.Sqrt(512.0 * 512.0 / (width * height));
            firstWidth = (long)Math.Ceiling(scale * width / 64) * 64;
            firstHeight = (long)Math.Ceiling(scale * height / 64) * 64;
        }
        d["Size-1"] = firstWidth;
        d["Size-2"] = firstHeight;
        d["Hires resize-1"] = width;
        d["Hires resize-2"] = height;
        written.UnionWith(["Size-1", "Size-2", "Hires resize-1", "Hires resize-2"]);
    }

    private static bool TryGetInt(OrderedDictionary<string, object> d, string key, out long value)
    {
        value = 0;
        return d.TryGetValue(key, out object? v) && PythonText.TryParseInt(ParsedInfotext.AsText(v), out value);
    }

    private static void Backcompat(OrderedDictionary<string, object> d)
    {
        if (!d.TryGetValue("Version", out object? text) || ParseVersion(ParsedInfotext.AsText(text)) is not Pep440Version version)
            return;
        string prompt = d.TryGetValue("Prompt", out object? p) ? ParsedInfotext.AsText(p) : "";
        string sampler = d.TryGetValue("Sampler", out object? s) ? ParsedInfotext.AsText(s) : "";
        if (version < V160 && prompt.Contains('[')) d["Old prompt editing timelines"] = true;
        if (version < V160 && sampler is "DDIM" or "PLMS") d["Pad conds v0"] = true;
        if (version < V170Tsnr) d["Downcast alphas_cumprod"] = true;
        if (version < V180 && d.TryGetValue("Refiner", out object? refiner) && ParsedInfotext.AsText(refiner).Length > 0)
            d["Refiner switch by sampling steps"] = true;
    }

    /// <summary>
    /// <c>infotext_versions.parse_version</c>: a git-describe "v1.7.0-225-gabcdef" is cut to "v1.7.0-225" (225
    /// commits after the tag, which PEP 440 reads as a post-release); text that is not a version (another
    /// program's name) gives null, and then no compatibility flag is set.
    /// </summary>
    internal static Pep440Version? ParseVersion(string text)
    {
        var m = GitDescribePattern().Match(text);
        if (m.Success) text = m.Groups[1].Value;
        return Pep440Version.TryParse(text, out var version) ? version : null;
    }

    [GeneratedRegex(@"^([^-]+-[^-]+)-.*", RegexOptions.CultureInvariant)]
    private static partial Regex GitDescribePattern();
}
