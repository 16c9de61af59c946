namespace SdSharp.Generation.Infotext;

/// <summary>
/// What A1111's <c>parse_generation_parameters</c> returns: an ordered dict that starts with "Prompt" and
/// "Negative prompt", then every <c>key: value</c> of the parameters line (sizes split into "Key-1"/"Key-2"),
/// then the defaults A1111 fills in. Values keep Python's types: text is <see cref="string"/>, and the few
/// defaults A1111 writes as numbers or booleans ("Hires resize-1": 0, "Masked area padding": 32, the
/// compatibility flags) are <see cref="long"/> or <see cref="bool"/>.
/// </summary>
public sealed class ParsedInfotext
{
    private readonly OrderedDictionary<string, object> _fields;
    private readonly HashSet<string> _written;

    internal ParsedInfotext(OrderedDictionary<string, object> fields, HashSet<string> written)
    {
        _fields = fields;
        _written = written;
    }

    /// <summary>Every field in A1111's order, with the values' Python types.</summary>
    public IReadOnlyList<KeyValuePair<string, object>> Fields => [.. _fields];

    public string Prompt => GetText("Prompt") ?? "";

    public string NegativePrompt => GetText("Negative prompt") ?? "";

    public bool Contains(string key) => _fields.ContainsKey(key);

    /// <summary>True when the key came from the text itself rather than from A1111's defaults.</summary>
    public bool IsWritten(string key) => _written.Contains(key);

    /// <summary>The value as text, as Python's <c>str()</c> would give it; null when absent.</summary>
    public string? GetText(string key) =>
        _fields.TryGetValue(key, out object? value) ? AsText(value) : null;

    public object? this[string key] => _fields.TryGetValue(key, out object? value) ? value : null;

    internal static string AsText(object value) => value switch
    {
        string s => s,
        bool b => PythonText.Str(b),
        long l => PythonText.Str(l),
        double d => PythonText.Str(d),
        _ => throw new InvalidOperationException($"unexpected infotext value type {value.GetType()}"),
    };
}
