namespace SdSharp.Text.Prompts;

/// <summary>
/// Python's <c>re.split(r"\s*\bBREAK\b\s*", text)</c>: BREAK as a whole word (case-sensitive), together with the
/// whitespace on both sides, separates the pieces.
/// </summary>
internal static class BreakSplitter
{
    private const string Word = "BREAK";

    public static IReadOnlyList<string> Split(string text)
    {
        var pieces = new List<string>();
        int pieceStart = 0;
        int search = 0;
        while (true)
        {
            int k = text.IndexOf(Word, search, StringComparison.Ordinal);
            if (k < 0) break;
            int after = k + Word.Length;
            if (PythonText.IsWordCharBefore(text, k) || PythonText.IsWordCharAt(text, after))
            {
                search = k + 1;
                continue;
            }
            int matchStart = k;
            while (matchStart > pieceStart && PythonText.IsSpace(text[matchStart - 1])) matchStart--;
            int matchEnd = after;
            while (matchEnd < text.Length && PythonText.IsSpace(text[matchEnd])) matchEnd++;
            pieces.Add(text[pieceStart..matchStart]);
            pieceStart = search = matchEnd;
        }
        pieces.Add(text[pieceStart..]);
        return pieces;
    }
}
