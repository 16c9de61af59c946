using System.Text;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// One image's generation parameters as AUTOMATIC1111 writes them into the PNG <c>parameters</c> chunk: the
/// prompt, the negative prompt, and key/value parameters in A1111's order, each value already in the text form
/// Python's <c>str()</c> gives it ("7.0", "True", "DPM++ 2M"). Build one with <see cref="InfotextBuilder"/> or
/// <see cref="InfotextFactory"/>; read one back with <see cref="InfotextParser"/>. (Not named plain "Infotext":
/// a type named like its namespace cannot be named simply from inside <c>SdSharp.Generation</c>.)
/// </summary>
public sealed class ImageInfotext
{
    /// <summary>The PNG text chunk keyword A1111 stores the infotext under.</summary>
    public const string PngKeyword = "parameters";

    internal ImageInfotext(string prompt, string negativePrompt, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        Prompt = prompt;
        NegativePrompt = negativePrompt;
        Parameters = parameters;
    }

    public string Prompt { get; }

    public string NegativePrompt { get; }

    /// <summary>The parameters in the order they are written.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; }

    /// <summary>A parameter's value, or null when it is not written.</summary>
    public string? this[string key]
    {
        get
        {
            foreach (var (k, v) in Parameters)
                if (k == key) return v;
            return null;
        }
    }

    /// <summary>
    /// The infotext exactly as A1111's <c>create_infotext</c> writes it: the prompt, "\nNegative prompt: ..." when
    /// there is one, then a line of <c>key: value</c> pairs joined with ", ", the whole stripped of surrounding
    /// whitespace. A value equal to its key is written alone; values with ',', ':' or a newline are JSON-quoted.
    /// </summary>
    public string Text
    {
        get
        {
            var text = new StringBuilder(Prompt);
            if (NegativePrompt.Length > 0) text.Append("\nNegative prompt: ").Append(NegativePrompt);
            text.Append('\n');
            for (int i = 0; i < Parameters.Count; i++)
            {
                var (key, value) = Parameters[i];
                if (i > 0) text.Append(", ");
                text.Append(key);
                if (key != value) text.Append(": ").Append(Quote(value));
            }
            return PythonText.Strip(text.ToString());
        }
    }

    public override string ToString() => Text;

    /// <summary>A1111's <c>quote</c>: JSON (non-ASCII kept) when the value holds ',', ':' or '\n', else as is.</summary>
    public static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",:\n") >= 0 ? PythonJson.Dumps(value) : value;
}
