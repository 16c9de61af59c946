namespace SdSharp.Imaging;

/// <summary>A PNG's header and text chunks, in file order.</summary>
public sealed class PngInfo(PngHeader header, IReadOnlyList<PngText> text)
{
    public PngHeader Header { get; } = header;

    public IReadOnlyList<PngText> Text { get; } = text;

    /// <summary>The value of the last text chunk with this keyword (the one PIL's <c>info</c> dict keeps), or null.</summary>
    public string? GetText(string keyword)
    {
        for (int i = Text.Count - 1; i >= 0; i--)
            if (Text[i].Keyword == keyword) return Text[i].Value;
        return null;
    }
}

/// <summary>A decoded PNG: the pixels (8-bit, see <see cref="PngDecoder"/> for the channel layout) and the info.</summary>
public sealed class DecodedPng(Image image, PngInfo info)
{
    public Image Image { get; } = image;

    public PngInfo Info { get; } = info;
}
