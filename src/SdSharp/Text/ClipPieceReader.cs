using System.Globalization;
using System.Text;

namespace SdSharp.Text;

/// <summary>
/// CLIP's pre-tokenisation of normalized text, by hand instead of by regex (it runs for every word):
/// the pieces the pattern
/// <c>&lt;\|startoftext\|&gt;|&lt;\|endoftext\|&gt;|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+</c>
/// matches, whitespace between them dropped. Letters run together, every digit stands alone, and
/// anything else (punctuation, symbols, emoji, combining marks) runs together.
/// HF then splits each piece again with GPT-2's byte-level pattern; that changes nothing except a
/// special-token literal that reaches this stage (one whose case differs from the real special token's,
/// e.g. "&lt;|EndOfText|&gt;" after lower-casing), which becomes "&lt;|", the word, "|&gt;".
/// </summary>
internal ref struct ClipPieceReader(ReadOnlySpan<char> text)
{
    private enum CharClass : byte { Space, Letter, Number, Other }

    private static readonly CharClass[] AsciiClasses = BuildAsciiClasses();

    private readonly ReadOnlySpan<char> _text = text;
    private int _pos;
    /// <summary>End of the special-token literal being read, which no piece may cross (0 if none).</summary>
    private int _literalEnd;

    /// <summary>The next piece as a range of the text; false at the end.</summary>
    public bool TryRead(out int start, out int length)
    {
        while (_pos < _text.Length && Classify(_pos, out int w) == CharClass.Space) _pos += w;
        start = _pos;
        length = 0;
        if (_pos >= _text.Length) return false;

        if (_pos >= _literalEnd) _literalEnd = _pos + SpecialLiteralLength(_text[_pos..]);
        int end = ContractionLength(_text[_pos..]) is int c and > 0 ? _pos + c : ReadRun(_pos);
        length = end - start;
        _pos = end;
        return true;
    }

    private int ReadRun(int pos)
    {
        var cls = Classify(pos, out int width);
        pos += width;
        if (cls == CharClass.Number) return pos;
        int limit = cls == CharClass.Other && pos < _literalEnd ? _literalEnd : _text.Length;
        while (pos < limit && Classify(pos, out width) == cls) pos += width;
        return pos;
    }

    /// <summary>'s 't 're 've 'm 'll 'd (the text is already lower case): their length, else 0.</summary>
    private static int ContractionLength(ReadOnlySpan<char> s)
    {
        if (s.Length < 2 || s[0] != '\'') return 0;
        switch (s[1])
        {
            case 's' or 't' or 'm' or 'd': return 2;
            case 'r' or 'v' when s.Length > 2 && s[2] == 'e': return 3;
            case 'l' when s.Length > 2 && s[2] == 'l': return 3;
            default: return 0;
        }
    }

    private static int SpecialLiteralLength(ReadOnlySpan<char> s) =>
        s.StartsWith(ClipVocabulary.StartOfText, StringComparison.Ordinal) ? ClipVocabulary.StartOfText.Length
        : s.StartsWith(ClipVocabulary.EndOfText, StringComparison.Ordinal) ? ClipVocabulary.EndOfText.Length
        : 0;

    private readonly CharClass Classify(int pos, out int width)
    {
        char c = _text[pos];
        if (c < 128)
        {
            width = 1;
            return AsciiClasses[c];
        }
        // A lone surrogate decodes as U+FFFD (a symbol), as Rust would have refused it anyway.
        Rune.DecodeFromUtf16(_text[pos..], out Rune r, out width);
        if (Rune.IsWhiteSpace(r)) return CharClass.Space;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.Other,
        };
    }

    private static CharClass[] BuildAsciiClasses()
    {
        var classes = new CharClass[128];
        for (int c = 0; c < 128; c++)
            classes[c] = char.IsWhiteSpace((char)c) ? CharClass.Space
                : char.IsAsciiLetter((char)c) ? CharClass.Letter
                : char.IsAsciiDigit((char)c) ? CharClass.Number
                : CharClass.Other;
        return classes;
    }
}
