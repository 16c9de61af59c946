using System.IO.Compression;
using System.Text;

namespace SdSharp.Imaging;

/// <summary>Reads and writes the data of tEXt, zTXt and iTXt chunks.</summary>
internal static class PngTextCodec
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsTextChunk(string type) => type is "tEXt" or "zTXt" or "iTXt";

    /// <summary>
    /// The text in a chunk's data, or null when the chunk is malformed (no keyword, an unknown compression method,
    /// a broken zlib stream, invalid UTF-8): like PIL, we skip such a chunk rather than refuse the image. A value
    /// that inflates past <paramref name="maxBytes"/> is refused, though: that is a bomb, not a slip.
    /// </summary>
    public static PngText? Parse(string type, byte[] data, int maxBytes, PngChunkReader chunks)
    {
        int keywordEnd = Array.IndexOf(data, (byte)0);
        if (keywordEnd <= 0) return null;
        string keyword = Encoding.Latin1.GetString(data, 0, keywordEnd);
        ReadOnlySpan<byte> rest = data.AsSpan(keywordEnd + 1);
        switch (type)
        {
            case "tEXt":
                return new PngText(keyword, Encoding.Latin1.GetString(rest));

            case "zTXt":
            {
                if (rest.Length < 1 || rest[0] != 0) return null;
                byte[]? value = Inflate(rest[1..], maxBytes, () => TooLarge(chunks, type, keyword, maxBytes));
                return value is null ? null
                    : new PngText(keyword, Encoding.Latin1.GetString(value)) { Kind = PngTextKind.CompressedText, Compressed = true };
            }

            default: // iTXt: flag, method, language tag\0, translated keyword\0, value
            {
                if (rest.Length < 2) return null;
                bool compressed = rest[0] != 0;
                if (compressed && rest[1] != 0) return null;
                rest = rest[2..];
                int langEnd = rest.IndexOf((byte)0);
                if (langEnd < 0) return null;
                int tkeyEnd = rest[(langEnd + 1)..].IndexOf((byte)0);
                if (tkeyEnd < 0) return null;
                tkeyEnd += langEnd + 1;
                ReadOnlySpan<byte> stored = rest[(tkeyEnd + 1)..];
                byte[]? value = compressed
                    ? Inflate(stored, maxBytes, () => TooLarge(chunks, type, keyword, maxBytes))
                    : stored.ToArray();
                if (value is null) return null;
                try
                {
                    return new PngText(keyword, StrictUtf8.GetString(value))
                    {
                        Kind = PngTextKind.InternationalText,
                        Compressed = compressed,
                        LanguageTag = StrictUtf8.GetString(rest[..langEnd]),
                        TranslatedKeyword = StrictUtf8.GetString(rest[(langEnd + 1)..tkeyEnd]),
                    };
                }
                catch (DecoderFallbackException)
                {
                    return null;
                }
            }
        }
    }

    /// <summary>The chunk data for <paramref name="text"/>; throws ArgumentException for text the chunk cannot hold.</summary>
    public static byte[] Serialize(PngText text, int compressionLevel)
    {
        string keyword = text.Keyword;
        if (keyword.Length is < 1 or > 79 || !PngText.IsLatin1(keyword) || keyword.Contains('\0'))
            throw new ArgumentException($"PNG text keyword \"{keyword}\" must be 1 to 79 Latin-1 characters without NUL.");
        var data = new MemoryStream();
        data.Write(Encoding.Latin1.GetBytes(keyword));
        data.WriteByte(0);
        switch (text.Kind)
        {
            case PngTextKind.Text:
            case PngTextKind.CompressedText:
                if (!PngText.IsLatin1(text.Value))
                    throw new ArgumentException($"PNG text \"{keyword}\" is not Latin-1; use an iTXt chunk (PngText.For picks one).");
                byte[] latin1 = Encoding.Latin1.GetBytes(text.Value);
                if (text.Kind == PngTextKind.Text)
                {
                    data.Write(latin1);
                }
                else
                {
                    data.WriteByte(0); // compression method: zlib
                    data.Write(Deflate(latin1, compressionLevel));
                }
                break;

            default:
                if (text.LanguageTag.Contains('\0') || text.TranslatedKeyword.Contains('\0'))
                    throw new ArgumentException($"PNG text \"{keyword}\": language tag and translated keyword cannot hold NUL.");
                data.WriteByte(text.Compressed ? (byte)1 : (byte)0);
                data.WriteByte(0); // compression method: zlib
                data.Write(EncodeUtf8(text.LanguageTag, keyword));
                data.WriteByte(0);
                data.Write(EncodeUtf8(text.TranslatedKeyword, keyword));
                data.WriteByte(0);
                byte[] utf8 = EncodeUtf8(text.Value, keyword);
                data.Write(text.Compressed ? Deflate(utf8, compressionLevel) : utf8);
                break;
        }
        return data.ToArray();
    }

    public static byte[] Deflate(ReadOnlySpan<byte> data, int compressionLevel)
    {
        var output = new MemoryStream();
        using (var z = new ZLibStream(output, new ZLibCompressionOptions { CompressionLevel = compressionLevel }, leaveOpen: true))
            z.Write(data);
        return output.ToArray();
    }

    /// <summary>Inflates at most a buffer past <paramref name="maxBytes"/> before refusing; null for a broken stream.</summary>
    private static byte[]? Inflate(ReadOnlySpan<byte> compressed, int maxBytes, Func<Exception> tooLarge)
    {
        using var z = new ZLibStream(new MemoryStream(compressed.ToArray(), writable: false), CompressionMode.Decompress);
        var output = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            int n;
            while ((n = z.Read(buffer)) > 0)
            {
                if (output.Length + n > maxBytes) throw tooLarge();
                output.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException)
        {
            return null;
        }
        return output.ToArray();
    }

    private static byte[] EncodeUtf8(string s, string keyword)
    {
        try
        {
            return StrictUtf8.GetBytes(s);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"PNG text \"{keyword}\" holds invalid UTF-16 (a lone surrogate).", e);
        }
    }

    private static PngFormatException TooLarge(PngChunkReader chunks, string type, string keyword, int maxBytes) =>
        chunks.Error($"{type} chunk \"{Printable(keyword)}\" inflates past the text limit of {maxBytes} bytes");

    // Keywords come from the file: keep error messages on one line.
    private static string Printable(string s) => string.Concat(s.Select(c => char.IsControl(c) ? '?' : c));
}
