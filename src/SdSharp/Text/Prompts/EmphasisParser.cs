using System.Text;

namespace SdSharp.Text.Prompts;

/// <summary>
/// A1111's <c>parse_prompt_attention</c>: <c>(a)</c> multiplies a's weight by 1.1, <c>[a]</c> by 1/1.1,
/// <c>(a:1.3)</c> by 1.3; nesting multiplies; brackets left open apply to the end of the prompt; <c>\( \) \[ \] \\</c>
/// are literal characters and any other backslash is dropped; <c>BREAK</c> as a word becomes a chunk-break marker.
/// Adjacent fragments of equal weight are merged. The weights are multiplied in A1111's order, so they are equal
/// bit for bit (e.g. 1.5730000000000004 for <c>((a:1.3))</c>).
/// </summary>
public static class EmphasisParser
{
    private const double RoundMultiplier = 1.1;
    private const double SquareMultiplier = 1 / 1.1;   // multiplying by 1/1.1 is not the same double as dividing by 1.1

    /// <exception cref="InvalidInputException">An explicit weight such as <c>(a:1.2.3)</c> is not a number (A1111 fails there too).</exception>
    public static IReadOnlyList<PromptFragment> Parse(string text)
    {
        var result = new List<Segment>();
        var round = new List<int>();
        var square = new List<int>();

        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '\\')
            {
                bool escapes = i + 1 < text.Length && text[i + 1] is '(' or ')' or '[' or ']' or '\\';
                result.Add(new Segment(escapes ? text[i + 1].ToString() : "", 1.0));
                i += escapes ? 2 : 1;
            }
            else if (c == '(') { round.Add(result.Count); i++; }
            else if (c == '[') { square.Add(result.Count); i++; }
            else if (c == ':' && TryExplicitWeight(text, i, out string weight, out int end))
            {
                if (round.Count > 0) MultiplyFrom(result, Pop(round), ParseWeight(weight));
                else AddText(result, text[i..end]);   // nothing to close: the whole ":1.3)" is text
                i = end;
            }
            else if (c == ')' && round.Count > 0) { MultiplyFrom(result, Pop(round), RoundMultiplier); i++; }
            else if (c == ']' && square.Count > 0) { MultiplyFrom(result, Pop(square), SquareMultiplier); i++; }
            else if (c is ')' or ']' or ':') { AddText(result, c.ToString()); i++; }
            else
            {
                int runEnd = i;
                while (runEnd < text.Length && text[runEnd] is not ('\\' or '(' or ')' or '[' or ']' or ':')) runEnd++;
                AddText(result, text[i..runEnd]);
                i = runEnd;
            }
        }

        // Unclosed brackets, outermost first, round before square.
        foreach (int start in round) MultiplyFrom(result, start, RoundMultiplier);
        foreach (int start in square) MultiplyFrom(result, start, SquareMultiplier);

        if (result.Count == 0) return [new PromptFragment("", 1.0)];
        return Merge(result);
    }

    /// <summary><c>:\s*([+-]?[.\d]+)\s*\)</c> at <paramref name="colon"/>: the number text and the end after ')'.</summary>
    private static bool TryExplicitWeight(string text, int colon, out string weight, out int end)
    {
        weight = "";
        end = 0;
        int i = colon + 1;
        while (i < text.Length && PythonText.IsSpace(text[i])) i++;
        int start = i;
        if (i < text.Length && text[i] is '+' or '-') i++;
        int bodyStart = i;
        while (i < text.Length)
        {
            if (text[i] == '.') { i++; continue; }
            if (PythonText.DecimalDigitAt(text, i, out int length) < 0) break;
            i += length;
        }
        if (i == bodyStart) return false;
        int numberEnd = i;
        while (i < text.Length && PythonText.IsSpace(text[i])) i++;
        if (i >= text.Length || text[i] != ')') return false;
        weight = text[start..numberEnd];
        end = i + 1;
        return true;
    }

    private static double ParseWeight(string weight) =>
        PythonText.TryParseFloat(weight, out double value)
            ? value
            : throw new InvalidInputException($"Prompt emphasis weight '{weight}' is not a number.");

    // Text runs are split on BREAK; each piece starts at weight 1 and brackets closing later multiply it.
    private static void AddText(List<Segment> result, string text)
    {
        IReadOnlyList<string> pieces = BreakSplitter.Split(text);
        for (int i = 0; i < pieces.Count; i++)
        {
            if (i > 0) result.Add(new Segment(PromptFragment.Break.Text, PromptFragment.Break.Weight));
            result.Add(new Segment(pieces[i], 1.0));
        }
    }

    private static void MultiplyFrom(List<Segment> result, int start, double multiplier)
    {
        for (int p = start; p < result.Count; p++) result[p].Weight *= multiplier;
    }

    private static int Pop(List<int> stack)
    {
        int top = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return top;
    }

    // Runs of exactly equal weights become one fragment (a NaN weight never merges, as in Python).
    private static List<PromptFragment> Merge(List<Segment> segments)
    {
        var merged = new List<PromptFragment>();
        var run = new StringBuilder(segments[0].Text);
        double weight = segments[0].Weight;
        for (int i = 1; i < segments.Count; i++)
        {
            if (segments[i].Weight == weight) { run.Append(segments[i].Text); continue; }
            merged.Add(new PromptFragment(run.ToString(), weight));
            run.Clear().Append(segments[i].Text);
            weight = segments[i].Weight;
        }
        merged.Add(new PromptFragment(run.ToString(), weight));
        return merged;
    }

    private sealed class Segment(string text, double weight)
    {
        public string Text { get; } = text;
        public double Weight { get; set; } = weight;
    }
}
