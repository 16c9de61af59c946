using System.Text.RegularExpressions;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// Reads infotext the way A1111's <c>parse_generation_parameters</c> does, quirks included, so an image means
/// the same here as in A1111's PNG Info:
/// <list type="bullet">
/// <item>the last line holds the parameters only if the parameter pattern matches it at least 3 times;
/// otherwise it is part of the prompt;</item>
/// <item>every other line is stripped; from the first one starting with "Negative prompt:" on, lines belong to
/// the negative prompt;</item>
/// <item>quoted values are JSON-decoded (kept as written when that fails); "WxH" values become "Key-1"/"Key-2";
/// a key with an empty value is dropped (A1111 fails on it and skips it); a later duplicate key wins;</item>
/// <item>missing keys get A1111's defaults, and old versions get their compatibility flags
/// (<see cref="InfotextDefaults"/>).</item>
/// </list>
/// </summary>
public static partial class InfotextParser
{
    private const string NegativePrefix = "Negative prompt:";

    public static ParsedInfotext Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = PythonText.Strip(text).Split('\n').ToList();
        string parameters = lines[^1];
        lines.RemoveAt(lines.Count - 1);
        if (ParameterPattern().Count(parameters) < 3)
        {
            lines.Add(parameters);
            parameters = "";
        }

        var (prompt, negative) = SplitPrompts(lines);
        var fields = new OrderedDictionary<string, object> { ["Prompt"] = prompt, ["Negative prompt"] = negative };
        var written = new HashSet<string>();
        foreach (Match match in ParameterPattern().Matches(parameters))
        {
            string key = match.Groups[1].Value, value = match.Groups[2].Value;
            if (value.Length == 0) continue; // A1111 reads v[0] first: an empty value raises and the key is skipped
            value = Unquote(value);
            var size = ImageSizePattern().Match(value);
            if (size.Success)
            {
                Set(fields, written, key + "-1", size.Groups[1].Value);
                Set(fields, written, key + "-2", size.Groups[2].Value);
            }
            else Set(fields, written, key, value);
        }
        InfotextDefaults.Apply(fields, written);
        return new ParsedInfotext(fields, written);
    }

    /// <summary>A1111's <c>unquote</c>: JSON-decodes a quoted value, or leaves it as written when it is not valid JSON.</summary>
    public static string Unquote(string value) =>
        value.Length > 0 && value[0] == '"' && value[^1] == '"' && PythonJson.TryLoadString(value, out string decoded)
            ? decoded
            : value;

    private static (string Prompt, string Negative) SplitPrompts(List<string> lines)
    {
        string prompt = "", negative = "";
        bool inNegative = false;
        foreach (string raw in lines)
        {
            string line = PythonText.Strip(raw);
            if (line.StartsWith(NegativePrefix, StringComparison.Ordinal))
            {
                inNegative = true;
                line = PythonText.Strip(line[NegativePrefix.Length..]);
            }
            // An empty first line adds nothing, not even the separator: A1111 joins only onto non-empty text.
            if (inNegative) negative += (negative.Length == 0 ? "" : "\n") + line;
            else prompt += (prompt.Length == 0 ? "" : "\n") + line;
        }
        return (prompt, negative);
    }

    private static void Set(OrderedDictionary<string, object> fields, HashSet<string> written, string key, string value)
    {
        fields[key] = value;
        written.Add(key);
    }

    // A1111's re_param. Python's \w and \s are Unicode-wide: \w is letters, numbers and '_' (not .NET's
    // combining marks and connector punctuation), \s also covers U+001C..U+001F.
    [GeneratedRegex("""[\s\x1C-\x1F]*([\p{L}\p{N}_][\p{L}\p{N}_ \-/]+):[\s\x1C-\x1F]*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)""",
        RegexOptions.CultureInvariant)]
    internal static partial Regex ParameterPattern();

    [GeneratedRegex(@"^(\d+)x(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageSizePattern();
}
