namespace SdSharp.Text;

/// <summary>
/// GPT-2/CLIP's reversible byte-to-character mapping ("bytes_to_unicode"): byte-level BPE works on
/// strings of these 256 printable characters, so no byte maps to whitespace or a control character.
/// Printable Latin-1 bytes stand for themselves; the other 68 bytes take U+0100 onwards in byte order.
/// </summary>
internal static class ByteLevelAlphabet
{
    /// <summary>The 256 characters in the order OpenAI lists them: the printable bytes first, then the rest.
    /// The CLIP vocabulary begins with exactly this list, so a character's index here is its token id.</summary>
    public static IReadOnlyList<char> CharsInVocabOrder { get; } = BuildVocabOrder();

    private static readonly char[] ByteToChar = BuildByteToChar();

    public static char CharOf(byte b) => ByteToChar[b];

    /// <summary>The byte a character stands for, or -1 if it is not one of the 256.</summary>
    public static int ByteOf(char c) => c < CharToByte.Length ? CharToByte[c] : -1;

    private static readonly short[] CharToByte = BuildCharToByte();

    private static bool IsPrintable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0x100;
        for (int b = 0; b < 256; b++) map[b] = IsPrintable(b) ? (char)b : (char)next++;
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[0x100 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (short)b;
        return map;
    }

    private static char[] BuildVocabOrder()
    {
        var byteToChar = BuildByteToChar();
        var order = new List<char>(256);
        for (int b = 0; b < 256; b++) if (IsPrintable(b)) order.Add(byteToChar[b]);
        for (int b = 0; b < 256; b++) if (!IsPrintable(b)) order.Add(byteToChar[b]);
        return [.. order];
    }
}
