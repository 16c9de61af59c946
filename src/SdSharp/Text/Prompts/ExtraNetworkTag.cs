namespace SdSharp.Text.Prompts;

/// <summary>
/// One <c>&lt;kind:arg1:arg2...&gt;</c> tag taken out of a prompt, e.g. <c>&lt;lora:name:0.8&gt;</c> gives kind "lora" and
/// items ["name", "0.8"]. Like A1111's <c>ExtraNetworkParams</c>, an item of the form <c>key=value</c> (exactly one '=')
/// is a named argument; every other item is positional.
/// </summary>
public sealed record ExtraNetworkTag
{
    public ExtraNetworkTag(string kind, IReadOnlyList<string> items)
    {
        Kind = kind;
        Items = [.. items];
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string item in Items)
        {
            // Python's item.split('=', 2) has exactly two parts only when the item holds one '='.
            int eq = item.IndexOf('=');
            if (eq >= 0 && item.IndexOf('=', eq + 1) < 0) named[item[..eq]] = item[(eq + 1)..];
            else positional.Add(item);
        }
        Positional = positional;
        Named = named;
    }

    public string Kind { get; }

    /// <summary>The arguments as written, split on ':'.</summary>
    public IReadOnlyList<string> Items { get; }

    public IReadOnlyList<string> Positional { get; }

    /// <summary>Named arguments; a repeated key keeps its last value, as a Python dict does.</summary>
    public IReadOnlyDictionary<string, string> Named { get; }

    public bool Equals(ExtraNetworkTag? other) =>
        other is not null && Kind == other.Kind && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => HashCode.Combine(Kind, Items.Count, Items.Count > 0 ? Items[0] : null);

    public override string ToString() => $"<{Kind}:{string.Join(':', Items)}>";
}
