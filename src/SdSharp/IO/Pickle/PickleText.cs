using System.Globalization;
using System.Numerics;
using System.Text;

namespace SdSharp.IO.Pickle;

/// <summary>Decoding of the text forms pickle protocols 0 and 1 use (numbers, quoted and escaped strings).</summary>
internal static class PickleText
{
    /// <summary>Python caps int() parsing at 4300 digits; a longer number in a checkpoint is hostile.</summary>
    public const int MaxDigits = 4300;

    /// <summary>Strict UTF-8: invalid bytes are an error, as in Python's pickle.</summary>
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string DecodeUtf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return Utf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new PickleException("a string is not valid UTF-8");
        }
    }

    public static string DecodeAscii(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) if (b > 0x7F) throw new PickleException("a protocol-0 argument is not ASCII");
        return Encoding.ASCII.GetString(bytes);
    }

    /// <summary>An int as Python's int() reads it; small values become long, as everywhere in the tree.</summary>
    public static object ParseInteger(string text)
    {
        text = text.Trim();
        if (text.Length > MaxDigits + 1) throw new PickleException($"integer of {text.Length} digits is too long");
        if (!BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out BigInteger value))
            throw new PickleException($"bad integer {FormatErrors.Quote(text)}");
        return Normalize(value);
    }

    public static object Normalize(BigInteger value) =>
        value >= long.MinValue && value <= long.MaxValue ? (long)value : (object)value;

    public static double ParseFloat(string text)
    {
        text = text.Trim();
        switch (text.ToLowerInvariant())
        {
            case "inf" or "+inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
            case "nan" or "+nan" or "-nan": return double.NaN;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new PickleException($"bad float {FormatErrors.Quote(text)}");
        return value;
    }

    /// <summary>A protocol-0 STRING argument: a Python repr in quotes, with backslash escapes.</summary>
    public static byte[] UnquoteString(ReadOnlySpan<byte> line)
    {
        if (line.Length < 2 || (line[0] != '\'' && line[0] != '"') || line[^1] != line[0])
            throw new PickleException("STRING argument is not quoted");
        ReadOnlySpan<byte> s = line[1..^1];
        var result = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 == s.Length)
            {
                result.Add(s[i]);
                continue;
            }
            byte c = s[++i];
            switch (c)
            {
                case (byte)'n': result.Add((byte)'\n'); break;
                case (byte)'r': result.Add((byte)'\r'); break;
                case (byte)'t': result.Add((byte)'\t'); break;
                case (byte)'a': result.Add(7); break;
                case (byte)'b': result.Add(8); break;
                case (byte)'f': result.Add(12); break;
                case (byte)'v': result.Add(11); break;
                case (byte)'\\' or (byte)'\'' or (byte)'"': result.Add(c); break;
                case (byte)'x':
                    if (i + 2 >= s.Length) throw new PickleException("truncated \\x escape in STRING");
                    result.Add((byte)(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
                    i += 2;
                    break;
                case >= (byte)'0' and <= (byte)'7':
                    int value = c - '0';
                    for (int n = 0; n < 2 && i + 1 < s.Length && s[i + 1] is >= (byte)'0' and <= (byte)'7'; n++) value = value * 8 + (s[++i] - '0');
                    result.Add((byte)value);
                    break;
                default:
                    result.Add((byte)'\\');
                    result.Add(c);
                    break;
            }
        }
        return [.. result];
    }

    /// <summary>Python's raw-unicode-escape: Latin-1 bytes, with \uXXXX and \UXXXXXXXX escapes.</summary>
    public static string RawUnicodeEscape(ReadOnlySpan<byte> s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            int digits = s[i] == '\\' && i + 1 < s.Length ? s[i + 1] switch { (byte)'u' => 4, (byte)'U' => 8, _ => 0 } : 0;
            if (digits == 0)
            {
                sb.Append((char)s[i]);
                continue;
            }
            if (i + 1 + digits >= s.Length) throw new PickleException("truncated \\u escape in UNICODE");
            int code = 0;
            for (int k = 0; k < digits; k++) code = checked(code * 16 + Hex(s[i + 2 + k]));
            if (code > 0x10FFFF) throw new PickleException("\\U escape out of range in UNICODE");
            // Python strings may hold lone surrogates; .NET strings may too, so keep them as they are.
            if (code <= 0xFFFF) sb.Append((char)code);
            else sb.Append(char.ConvertFromUtf32(code));
            i += 1 + digits;
        }
        return sb.ToString();
    }

    private static int Hex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => throw new PickleException("bad hex digit in an escape"),
    };
}
