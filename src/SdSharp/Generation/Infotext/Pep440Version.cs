using System.Globalization;
using System.Text.RegularExpressions;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// A version as Python's <c>packaging.version</c> reads and orders it (PEP 440), which is how A1111 decides
/// from an infotext's "Version" which old behaviours to restore. Text that is not a PEP 440 version is refused,
/// as modern <c>packaging</c> refuses it.
/// </summary>
internal sealed partial class Pep440Version : IComparable<Pep440Version>
{
    private readonly long _epoch;
    private readonly long[] _release;
    private readonly (int Kind, long Number)? _pre; // kind: 0 a, 1 b, 2 rc
    private readonly long? _post;
    private readonly long? _dev;
    private readonly string[]? _local;

    private Pep440Version(long epoch, long[] release, (int, long)? pre, long? post, long? dev, string[]? local)
    {
        _epoch = epoch;
        _release = release;
        _pre = pre;
        _post = post;
        _dev = dev;
        _local = local;
    }

    public static Pep440Version Parse(string text) =>
        TryParse(text, out var version) ? version : throw new FormatException($"not a PEP 440 version: {text}");

    public static bool TryParse(string text, out Pep440Version version)
    {
        version = null!;
        var m = Pattern().Match(text);
        if (!m.Success) return false;
        try
        {
            version = FromMatch(m);
            return true;
        }
        catch (OverflowException)
        {
            return false; // a number beyond long: no real version
        }
    }

    private static Pep440Version FromMatch(Match m)
    {
        long epoch = m.Groups["epoch"].Success ? Number(m.Groups["epoch"].Value) : 0;
        long[] release = m.Groups["release"].Value.Split('.').Select(Number).ToArray();
        (int, long)? pre = null;
        if (m.Groups["pre_l"].Success)
        {
            int kind = m.Groups["pre_l"].Value.ToLowerInvariant() switch
            {
                "a" or "alpha" => 0,
                "b" or "beta" => 1,
                _ => 2, // rc, c, pre, preview
            };
            pre = (kind, m.Groups["pre_n"].Success ? Number(m.Groups["pre_n"].Value) : 0);
        }
        long? post = m.Groups["post_n1"].Success ? Number(m.Groups["post_n1"].Value)
            : m.Groups["post_l"].Success ? (m.Groups["post_n2"].Success ? Number(m.Groups["post_n2"].Value) : 0)
            : null;
        long? dev = m.Groups["dev_l"].Success ? (m.Groups["dev_n"].Success ? Number(m.Groups["dev_n"].Value) : 0) : null;
        string[]? local = m.Groups["local"].Success ? m.Groups["local"].Value.ToLowerInvariant().Split('.', '-', '_') : null;
        return new Pep440Version(epoch, release, pre, post, dev, local);
    }

    public int CompareTo(Pep440Version? other)
    {
        if (other is null) return 1;
        int c = _epoch.CompareTo(other._epoch);
        if (c != 0) return c;
        c = CompareRelease(_release, other._release);
        if (c != 0) return c;
        c = PreKey().CompareTo(other.PreKey());
        if (c != 0) return c;
        c = (_post ?? -1).CompareTo(other._post ?? -1);
        if (c != 0) return c;
        c = (_dev ?? long.MaxValue).CompareTo(other._dev ?? long.MaxValue);
        if (c != 0) return c;
        return CompareLocal(_local, other._local);
    }

    public static bool operator <(Pep440Version a, Pep440Version b) => a.CompareTo(b) < 0;

    public static bool operator >(Pep440Version a, Pep440Version b) => a.CompareTo(b) > 0;

    public override string ToString() =>
        string.Join(".", _release) + (_pre is { } pre ? (pre.Kind == 0 ? "a" : pre.Kind == 1 ? "b" : "rc") + pre.Number : "")
        + (_post is long p ? ".post" + p : "") + (_dev is long d ? ".dev" + d : "");

    /// <summary>
    /// packaging's pre-release key: a dev release without pre or post sorts before every pre-release; a final
    /// release after all of them.
    /// </summary>
    private (int, long) PreKey() =>
        _pre is { } pre ? pre
        : _post == null && _dev != null ? (-1, 0)
        : (3, 0);

    private static int CompareRelease(long[] a, long[] b)
    {
        // Trailing zeros do not count: 1.6 == 1.6.0.
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            int c = (i < a.Length ? a[i] : 0).CompareTo(i < b.Length ? b[i] : 0);
            if (c != 0) return c;
        }
        return 0;
    }

    private static int CompareLocal(string[]? a, string[]? b)
    {
        if (a == null || b == null) return (a != null).CompareTo(b != null);
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            bool aNumber = long.TryParse(a[i], NumberStyles.None, CultureInfo.InvariantCulture, out long x);
            bool bNumber = long.TryParse(b[i], NumberStyles.None, CultureInfo.InvariantCulture, out long y);
            // Numeric segments sort after alphanumeric ones, and numerically among themselves.
            int c = aNumber && bNumber ? x.CompareTo(y) : aNumber != bNumber ? aNumber.CompareTo(bNumber) : string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    private static long Number(string digits) => long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);

    // PEP 440's permissive form ("v1.7.0-RC", "1.8.0-225", "1.0.post2.dev3+local"), in any letter case.
    [GeneratedRegex("""
        ^\s*v?
        (?:(?<epoch>[0-9]+)!)?
        (?<release>[0-9]+(?:\.[0-9]+)*)
        (?:[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?
        (?:-(?<post_n1>[0-9]+)|[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?)?
        (?:[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?
        (?:\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$
        """, RegexOptions.IgnorePatternWhitespace | RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
