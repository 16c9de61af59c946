namespace SdSharp.Text.Prompts;

/// <summary>
/// Composable diffusion, as A1111's <c>get_multicond_prompt_list</c> reads it: the prompt is split on the word
/// <c>AND</c> (<c>\bAND\b</c>, case-sensitive), and each part may end in <c>:weight</c>. The part's text keeps its
/// leading spaces but loses its trailing ones; the weight defaults to 1.
/// </summary>
public static class AndComposition
{
    private const string Separator = "AND";

    public static IReadOnlyList<SubPrompt> Split(string prompt)
    {
        var parts = new List<SubPrompt>();
        int partStart = 0;
        for (int i = prompt.IndexOf(Separator, StringComparison.Ordinal); i >= 0;
             i = prompt.IndexOf(Separator, i + 1, StringComparison.Ordinal))
        {
            int end = i + Separator.Length;
            if (PythonText.IsWordCharBefore(prompt, i) || PythonText.IsWordCharAt(prompt, end)) continue;
            parts.Add(ParsePart(prompt[partStart..i]));
            partStart = end;
            i = end - 1;
        }
        parts.Add(ParsePart(prompt[partStart..]));
        return parts;
    }

    /// <summary>
    /// A1111's <c>^((?:\s|.)*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$</c>: the shortest text after which only
    /// trailing whitespace remains, or <c>:</c> and a number (spaces allowed around both) and trailing whitespace.
    /// </summary>
    public static SubPrompt ParsePart(string part)
    {
        int end = part.Length;
        while (end > 0 && PythonText.IsSpace(part[end - 1])) end--;

        // A weight can only follow the last ':' (neither the number nor the spaces contain one).
        int colon = part.LastIndexOf(':', Math.Max(end - 1, 0));
        if (colon >= 0 && colon < end)
        {
            int numberStart = colon + 1;
            while (numberStart < end && PythonText.IsSpace(part[numberStart])) numberStart++;
            string number = part[numberStart..end];
            if (IsWeightNumber(number) && PythonText.TryParseFloat(number, out double weight))
            {
                int textEnd = colon;
                while (textEnd > 0 && PythonText.IsSpace(part[textEnd - 1])) textEnd--;
                return new SubPrompt(part[..textEnd], weight);
            }
        }
        return new SubPrompt(part[..end], 1.0);
    }

    // [-+]?(?:\d+\.?|\d*\.\d+) over the whole string: an optional sign, then digits holding at most one '.'.
    private static bool IsWeightNumber(string s)
    {
        int i = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
        int digits = 0, dots = 0;
        while (i < s.Length)
        {
            if (s[i] == '.') { dots++; i++; continue; }
            if (PythonText.DecimalDigitAt(s, i, out int length) < 0) return false;
            digits++;
            i += length;
        }
        return digits > 0 && dots <= 1;
    }
}
