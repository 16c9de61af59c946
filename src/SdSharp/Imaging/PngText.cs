using System.Text;

namespace SdSharp.Imaging;

/// <summary>The three PNG text chunks.</summary>
public enum PngTextKind
{
    /// <summary><c>tEXt</c>: Latin-1, uncompressed.</summary>
    Text,

    /// <summary><c>zTXt</c>: Latin-1, zlib-compressed.</summary>
    CompressedText,

    /// <summary><c>iTXt</c>: UTF-8, optionally compressed, with a language tag and a translated keyword.</summary>
    InternationalText,
}

/// <summary>
/// One text chunk: a Latin-1 keyword and its value. <see cref="Compressed"/> is always true for zTXt and may be
/// set for iTXt; the language tag and translated keyword only exist in iTXt.
/// </summary>
public sealed record PngText(string Keyword, string Value)
{
    public PngTextKind Kind { get; init; } = PngTextKind.Text;

    public bool Compressed { get; init; }

    public string LanguageTag { get; init; } = "";

    public string TranslatedKeyword { get; init; } = "";

    internal string ChunkType => Kind switch
    {
        PngTextKind.CompressedText => "zTXt",
        PngTextKind.InternationalText => "iTXt",
        _ => "tEXt",
    };

    /// <summary>
    /// The chunk PIL's <c>PngInfo.add_text(key, value)</c> writes (how A1111 stores <c>parameters</c>): tEXt when
    /// the value is Latin-1, otherwise an uncompressed iTXt with empty language tag and translated keyword.
    /// </summary>
    public static PngText For(string keyword, string value) =>
        IsLatin1(value)
            ? new PngText(keyword, value)
            : new PngText(keyword, value) { Kind = PngTextKind.InternationalText };

    internal static bool IsLatin1(string s)
    {
        foreach (char c in s)
            if (c > '\u00FF') return false;
        return true;
    }

    internal static Encoding Latin1 => Encoding.Latin1;
}
