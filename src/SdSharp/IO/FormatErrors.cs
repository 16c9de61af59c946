using System.Text;

namespace SdSharp.IO;

/// <summary>
/// Builds the one-line messages of <see cref="ModelFormatException"/>: the file first, then the problem. Text
/// taken from a file (tensor names, pickle globals) is quoted so a hostile file cannot break the line or flood it.
/// </summary>
internal static class FormatErrors
{
    private const int MaxQuotedLength = 120;

    public static ModelFormatException At(string path, string problem, Exception? inner = null) =>
        new($"{path}: {problem}", inner);

    public static ModelFormatException AtTensor(string path, string tensor, string problem) =>
        new($"{path}: tensor {Quote(tensor)}: {problem}");

    /// <summary>Text from a file, in single quotes, control characters escaped and long text cut.</summary>
    public static string Quote(string text) => "'" + Clean(text) + "'";

    /// <summary>Like <see cref="Quote"/> without the quotes, for names such as pickle globals.</summary>
    public static string Clean(string text)
    {
        var sb = new StringBuilder(Math.Min(text.Length, MaxQuotedLength) + 8);
        foreach (char c in text)
        {
            if (sb.Length >= MaxQuotedLength) return sb.Append("...").ToString();
            if (char.IsControl(c) || char.IsSurrogate(c)) sb.Append($"\\u{(int)c:X4}");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}
