using System.Globalization;
using System.Text;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// Python's <c>json.dumps(s, ensure_ascii=False)</c> and <c>json.loads</c> for one string, which is how A1111
/// quotes infotext values (<c>infotext_utils.quote</c>/<c>unquote</c>). System.Text.Json escapes differently
/// (non-ASCII, '+', '&lt;'), which other tools would still read but which is not byte-for-byte A1111's text.
/// </summary>
internal static class PythonJson
{
    public static string Dumps(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    // Other control characters as \u00XX with lowercase hex; everything else, DEL and non-ASCII included, as is.
                    if (c < ' ') text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    /// <summary>
    /// <c>json.loads</c> of a text that should be one JSON string: strict (raw control characters and unknown
    /// escapes are errors), and nothing may follow the closing quote.
    /// </summary>
    public static bool TryLoadString(string json, out string value)
    {
        value = "";
        string s = json.Trim(' ', '\t', '\n', '\r'); // the whitespace JSON allows around a value
        if (s.Length < 2 || s[0] != '"') return false;
        var text = new StringBuilder(s.Length);
        int i = 1;
        while (i < s.Length)
        {
            char c = s[i++];
            if (c == '"')
            {
                if (i != s.Length) return false; // "extra data"
                value = text.ToString();
                return true;
            }
            if (c < ' ') return false;
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }
            if (i >= s.Length) return false;
            char escape = s[i++];
            switch (escape)
            {
                case '"': text.Append('"'); break;
                case '\\': text.Append('\\'); break;
                case '/': text.Append('/'); break;
                case 'b': text.Append('\b'); break;
                case 'f': text.Append('\f'); break;
                case 'n': text.Append('\n'); break;
                case 'r': text.Append('\r'); break;
                case 't': text.Append('\t'); break;
                case 'u':
                    // Surrogate pairs come out right by appending both halves; lone ones are kept, as Python does.
                    if (i + 4 > s.Length || !ushort.TryParse(s.AsSpan(i, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code))
                        return false;
                    text.Append((char)code);
                    i += 4;
                    break;
                default: return false;
            }
        }
        return false; // unterminated
    }
}
