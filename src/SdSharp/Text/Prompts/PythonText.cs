using System.Globalization;
using System.Text;

namespace SdSharp.Text.Prompts;

/// <summary>
/// Character classes and number parsing with Python 3's semantics for <c>str</c> patterns. A1111's prompt syntax is
/// defined by Python regexes (<c>\s</c>, <c>\w</c>, <c>\b</c>, <c>\d</c>) and by <c>float()</c>, which differ from .NET's
/// defaults at the edges (e.g. U+001C is Python whitespace, '²' is a Python word character, astral letters are one
/// code point), so the prompt code never uses .NET's own <c>\s</c>/<c>\w</c>.
/// </summary>
internal static class PythonText
{
    /// <summary>Python's <c>str.isspace()</c>, which is what <c>\s</c> matches in a <c>str</c> pattern.</summary>
    public static bool IsSpace(char c) => c switch
    {
        >= '\t' and <= '\r' => true,           // \t \n \v \f \r
        >= '\x1c' and <= '\x1f' => true,       // file/group/record/unit separators
        ' ' or '\x85' or '\xa0' or '\u1680' => true,
        >= '\u2000' and <= '\u200a' => true,
        '\u2028' or '\u2029' or '\u202f' or '\u205f' or '\u3000' => true,
        _ => false,
    };

    /// <summary>Python's <c>\w</c>: alphanumeric (any letter or number category) or underscore.</summary>
    public static bool IsWordChar(Rune r)
    {
        if (r.Value == '_') return true;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
            _ => false,
        };
    }

    /// <summary>Whether the code point starting at <paramref name="index"/> is a Python word character (false at the end).</summary>
    public static bool IsWordCharAt(string s, int index) =>
        index < s.Length && Rune.TryGetRuneAt(s, index, out Rune r) && IsWordChar(r);

    /// <summary>Whether the code point ending just before <paramref name="index"/> is a Python word character (false at the start).</summary>
    public static bool IsWordCharBefore(string s, int index)
    {
        if (index <= 0) return false;
        int start = index >= 2 && char.IsLowSurrogate(s[index - 1]) && char.IsHighSurrogate(s[index - 2]) ? index - 2 : index - 1;
        return IsWordCharAt(s, start);
    }

    /// <summary>Python's <c>\b</c> at <paramref name="index"/>: a word character on exactly one side.</summary>
    public static bool IsWordBoundary(string s, int index) => IsWordCharBefore(s, index) != IsWordCharAt(s, index);

    /// <summary>
    /// Python's <c>\d</c> (any Unicode decimal digit): its value and its length in UTF-16 units, or -1 if the code
    /// point at <paramref name="index"/> is not a digit.
    /// </summary>
    public static int DecimalDigitAt(string s, int index, out int length)
    {
        length = 0;
        if (index >= s.Length || !Rune.TryGetRuneAt(s, index, out Rune r)) return -1;
        if (Rune.GetUnicodeCategory(r) != UnicodeCategory.DecimalDigitNumber) return -1;
        length = r.Utf16SequenceLength;
        return (int)Rune.GetNumericValue(r);
    }

    /// <summary>
    /// Python's <c>float(text)</c> for the strings prompt regexes capture (sign, Unicode decimal digits, '.', exponent).
    /// Returns false where Python raises ValueError. Overflow gives ±infinity, as in Python.
    /// </summary>
    public static bool TryParseFloat(string text, out double value)
    {
        // Python accepts any Unicode decimal digit; .NET only ASCII ones.
        var ascii = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int digit = DecimalDigitAt(text, i, out int length);
            if (digit >= 0) { ascii.Append((char)('0' + digit)); i += length; }
            else { ascii.Append(text[i]); i++; }
        }
        string s = ascii.ToString();
        value = 0;
        return IsPythonFloatSyntax(s)
            && double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                CultureInfo.InvariantCulture, out value);
    }

    // sign? (digits ('.' digits?)? | '.' digits) ([eE] sign? digits)?  — stricter than .NET, which would also take "." alone.
    private static bool IsPythonFloatSyntax(string s)
    {
        int i = 0;
        if (i < s.Length && s[i] is '+' or '-') i++;
        int intDigits = CountAsciiDigits(s, ref i);
        int fracDigits = 0;
        if (i < s.Length && s[i] == '.') { i++; fracDigits = CountAsciiDigits(s, ref i); }
        if (intDigits + fracDigits == 0) return false;
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            if (CountAsciiDigits(s, ref i) == 0) return false;
        }
        return i == s.Length;
    }

    private static int CountAsciiDigits(string s, ref int i)
    {
        int start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i - start;
    }
}
