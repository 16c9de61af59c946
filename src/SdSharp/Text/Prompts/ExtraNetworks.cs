namespace SdSharp.Text.Prompts;

/// <summary>A prompt with its extra-network tags removed, and the tags in the order they appeared.</summary>
public sealed record ExtraNetworkExtraction(string Prompt, IReadOnlyList<ExtraNetworkTag> Tags);

/// <summary>
/// A1111's <c>extra_networks.parse_prompt</c>: every match of <c>&lt;(\w+):([^&gt;]+)&gt;</c> is cut out of the prompt
/// (replaced by nothing; the spaces or commas around it stay exactly as they were) and its arguments are split on ':'.
/// </summary>
public static class ExtraNetworks
{
    public static ExtraNetworkExtraction Extract(string prompt)
    {
        var tags = new List<ExtraNetworkTag>();
        var rest = new System.Text.StringBuilder(prompt.Length);
        int copied = 0;
        for (int i = 0; i < prompt.Length; i++)
        {
            if (prompt[i] != '<' || !TryMatchTag(prompt, i, out int end, out ExtraNetworkTag? tag)) continue;
            rest.Append(prompt, copied, i - copied);
            tags.Add(tag);
            copied = end;
            i = end - 1;
        }
        rest.Append(prompt, copied, prompt.Length - copied);
        return new ExtraNetworkExtraction(rest.ToString(), tags);
    }

    // '<', one or more Python word characters, ':', one or more characters other than '>', then '>'.
    private static bool TryMatchTag(string s, int start, out int end, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ExtraNetworkTag? tag)
    {
        end = 0;
        tag = null;
        int i = start + 1;
        while (PythonText.IsWordCharAt(s, i)) i += char.IsSurrogatePair(s, i) ? 2 : 1;
        if (i == start + 1 || i >= s.Length || s[i] != ':') return false;
        int argsStart = i + 1;
        int close = s.IndexOf('>', argsStart);
        if (close <= argsStart) return false;   // no '>' at all, or no argument text before it
        tag = new ExtraNetworkTag(s[(start + 1)..(argsStart - 1)], s[argsStart..close].Split(':'));
        end = close + 1;
        return true;
    }
}
