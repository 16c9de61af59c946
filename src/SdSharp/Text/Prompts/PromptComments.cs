using System.Text.RegularExpressions;

namespace SdSharp.Text.Prompts;

/// <summary>
/// A1111's prompt comments (option "Enable comments", on by default since 1.8): text from '#' to the end of its line
/// is dropped before anything else sees the prompt (extra networks, AND, scheduling). Each comment, with the line
/// break that ends it, becomes a single "\n".
/// </summary>
public static partial class PromptComments
{
    public static string Strip(string prompt)
    {
        // Two passes as A1111 does them: whole-line comments first, then comments after text on a line.
        string text = WholeLineComment().Replace(prompt, "\n");
        return InlineComment().Replace(text, "\n");
    }

    // No \s or \w here, so .NET's semantics equal Python's ('^' is the string start, '$' the end or before a final \n).
    [GeneratedRegex("(^|\n)#[^\n]*(\n|$)", RegexOptions.CultureInvariant)]
    private static partial Regex WholeLineComment();

    [GeneratedRegex("#[^\n]*(\n|$)", RegexOptions.CultureInvariant)]
    private static partial Regex InlineComment();
}
