using System.Text;

namespace SdSharp.Text;

/// <summary>
/// The text cleaning of HF's CLIP tokenizer (transformers 5, the Rust "tokenizers" pipeline): NFC, then
/// lower-casing character by character. Whitespace folding needs no pass of its own: the pre-tokenizer
/// treats any run of whitespace as one separator and drops it. There is deliberately no HTML unescaping
/// and no ftfy: HF does neither (ClipTokenizer lists where that differs from OpenAI).
/// </summary>
internal static class ClipTextNormalizer
{
    /// <summary>Writes the normalized form of <paramref name="raw"/> into <paramref name="buffer"/>
    /// (grown as needed) and returns its length.</summary>
    public static int Normalize(ReadOnlySpan<char> raw, ref char[] buffer)
    {
        if (Ascii.IsValid(raw))
        {
            EnsureCapacity(ref buffer, raw.Length);
            Ascii.ToLower(raw, buffer, out int written);
            return written;
        }

        ReadOnlySpan<char> text = UnicodeNfc.MayChange(raw) ? UnicodeNfc.Normalize(raw) : raw;
        // Lower-casing grows the text only for U+0130, by one char; reserve for the worst case.
        EnsureCapacity(ref buffer, text.Length * 2);
        int length = 0;
        foreach (Rune r in text.EnumerateRunes()) length += AppendLower(r, buffer.AsSpan(length));
        return length;
    }

    /// <summary>Full lower-case mapping of one character, as Rust's char::to_lowercase gives it. .NET's
    /// invariant mapping is the simple one, which agrees everywhere except U+0130 (İ), whose full lower
    /// case is "i" + combining dot above (U+0307); .NET leaves it unchanged.</summary>
    private static int AppendLower(Rune r, Span<char> destination)
    {
        if (r.Value == 0x130)
        {
            destination[0] = 'i';
            destination[1] = '\u0307';
            return 2;
        }
        return Rune.ToLowerInvariant(r).EncodeToUtf16(destination);
    }

    private static void EnsureCapacity(ref char[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new char[Math.Max(length, buffer.Length * 2)];
    }
}
