using System.Globalization;
using System.Text;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// The few Python built-ins A1111's infotext code leans on, with Python's exact semantics: <c>str()</c> of
/// numbers and booleans, <c>str.strip()</c>, <c>int()</c> and <c>float()</c> of text. Infotext written or read
/// any other way drifts from what A1111 writes ("7" instead of "7.0") or accepts (" 7", "1_000").
/// </summary>
internal static class PythonText
{
    public static string Str(bool value) => value ? "True" : "False";

    public static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <c>repr(float)</c>: the shortest digits that round-trip, always with a ".0" or an exponent, and scientific
    /// notation (two-digit exponent at least) when the decimal exponent is below −4 or at least 16.
    /// </summary>
    public static string Str(double value)
    {
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        if (value == 0) return double.IsNegative(value) ? "-0.0" : "0.0";

        var (digits, point) = ShortestDigits(Math.Abs(value));
        var text = new StringBuilder(value < 0 ? "-" : "");
        if (point <= -4 || point > 16)
        {
            // d.ddde±XX with the exponent of the first digit.
            text.Append(digits[0]);
            if (digits.Length > 1) text.Append('.').Append(digits, 1, digits.Length - 1);
            int exponent = point - 1;
            text.Append(exponent < 0 ? "e-" : "e+").Append(Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture));
        }
        else if (point <= 0)
            text.Append("0.").Append('0', -point).Append(digits);
        else if (point >= digits.Length)
            text.Append(digits).Append('0', point - digits.Length).Append(".0");
        else
            text.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
        return text.ToString();
    }

    /// <summary>
    /// The shortest round-trip significant digits of a positive finite value (no leading or trailing zeros) and
    /// where the decimal point goes: value = 0.DIGITS × 10^point.
    /// </summary>
    private static (string Digits, int Point) ShortestDigits(double value)
    {
        // .NET's "R" is the shortest round-trip form, like Python's repr, but in its own layout ("1E-05", "0.001").
        string r = value.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        int exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        string mantissa = e < 0 ? r : r[..e];
        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        int point = (dot < 0 ? mantissa.Length : dot) + exponent;
        int leading = 0;
        while (leading < digits.Length - 1 && digits[leading] == '0') leading++;
        return (digits[leading..].TrimEnd('0'), point - leading);
    }

    /// <summary><c>str.isspace()</c>: Unicode whitespace, including the separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) =>
        c is >= '\t' and <= '\r' or >= '\x1c' and <= ' ' or '\x85' or '\xa0' or '\u1680' or >= '\u2000' and <= '\u200a'
            or '\u2028' or '\u2029' or '\u202f' or '\u205f' or '\u3000';

    /// <summary><c>str.strip()</c>.</summary>
    public static string Strip(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsSpace(s[start])) start++;
        while (end > start && IsSpace(s[end - 1])) end--;
        return s[start..end];
    }

    /// <summary>
    /// <c>int(text)</c>: surrounding whitespace, a sign, any Unicode decimal digits and single underscores between
    /// digits. Values outside <see cref="long"/> are refused (Python would accept them).
    /// </summary>
    public static bool TryParseInt(string text, out long value)
    {
        value = 0;
        string? ascii = AsciiDigits(Strip(text), allowPoint: false);
        return ascii != null && long.TryParse(ascii, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// <c>float(text)</c>: like <see cref="TryParseInt"/> plus a fraction and an exponent, and "nan", "inf",
    /// "infinity" in any case.
    /// </summary>
    public static bool TryParseFloat(string text, out double value)
    {
        string s = Strip(text);
        string unsigned = s.TrimStart('+', '-');
        if (s.Length - unsigned.Length <= 1 && unsigned.ToLowerInvariant() is "nan" or "inf" or "infinity")
        {
            value = unsigned.Equals("nan", StringComparison.OrdinalIgnoreCase) ? double.NaN
                : s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        value = 0;
        string? ascii = AsciiDigits(s, allowPoint: true);
        return ascii != null && double.TryParse(ascii, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// Checks Python's number grammar (one sign, digits with lone underscores between them, for floats a point and
    /// an exponent) and returns the text with ASCII digits and no underscores, or null.
    /// </summary>
    private static string? AsciiDigits(string s, bool allowPoint)
    {
        var result = new StringBuilder(s.Length);
        bool previousDigit = false, anyMantissaDigit = false, seenPoint = false, seenExponent = false, exponentDigit = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            int digit = CharUnicodeInfo.GetDecimalDigitValue(c);
            if (digit >= 0)
            {
                result.Append((char)('0' + digit));
                previousDigit = true;
                if (seenExponent) exponentDigit = true; else anyMantissaDigit = true;
            }
            else if (c == '_')
            {
                // Only between two digits.
                if (!previousDigit || i + 1 >= s.Length || CharUnicodeInfo.GetDecimalDigitValue(s[i + 1]) < 0) return null;
                previousDigit = false;
            }
            else if (c is '+' or '-')
            {
                bool atStart = i == 0 || (seenExponent && s[i - 1] is 'e' or 'E');
                if (!atStart) return null;
                result.Append(c);
                previousDigit = false;
            }
            else if (c == '.' && allowPoint && !seenPoint && !seenExponent)
            {
                seenPoint = true;
                previousDigit = false;
                result.Append(c);
            }
            else if (c is 'e' or 'E' && allowPoint && !seenExponent && anyMantissaDigit)
            {
                seenExponent = true;
                previousDigit = false;
                result.Append(c);
            }
            else return null;
        }
        return anyMantissaDigit && (!seenExponent || exponentDigit) ? result.ToString() : null;
    }
}
