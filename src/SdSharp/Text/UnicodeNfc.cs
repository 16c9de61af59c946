using System.Collections.Frozen;
using System.Text;

namespace SdSharp.Text;

/// <summary>
/// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition).
/// .NET's <see cref="string.Normalize()"/> is a no-op under InvariantGlobalization (it needs ICU), and
/// HF's CLIP normalizer starts with NFC, so "cafe\u0301" must become "café" here too. Data tables are
/// generated (UnicodeNfc.Data.cs); Hangul syllables are algorithmic.
/// </summary>
internal static partial class UnicodeNfc
{
    // Hangul syllable arithmetic (Unicode §3.12).
    private const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    private const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>Below this code point every character is NFC-stable and a starter; text made only of
    /// such characters is already NFC.</summary>
    private const char FirstUnstable = '\u0300';

    private static readonly Tables Data = new();

    /// <summary>Whether <paramref name="text"/> may change under NFC (cheap, vectorised pre-check).</summary>
    public static bool MayChange(ReadOnlySpan<char> text) => text.IndexOfAnyInRange(FirstUnstable, '\uFFFF') >= 0;

    public static string Normalize(ReadOnlySpan<char> text) => MayChange(text) ? Compose(Decompose(text)) : text.ToString();

    private static List<int> Decompose(ReadOnlySpan<char> text)
    {
        var cps = new List<int>(text.Length);
        foreach (Rune r in text.EnumerateRunes()) AppendDecomposed(r.Value, cps);
        SortCombiningMarks(cps);
        return cps;
    }

    private static void AppendDecomposed(int cp, List<int> output)
    {
        int s = cp - SBase;
        if ((uint)s < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (Data.Decompositions.TryGetValue(cp, out var d))
        {
            AppendDecomposed(d.First, output);
            if (d.Second >= 0) AppendDecomposed(d.Second, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    private static void SortCombiningMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int cp = cps[i], ccc = CombiningClass(cp);
            if (ccc == 0) continue;
            int j = i;
            while (j > 0 && CombiningClass(cps[j - 1]) > ccc)
            {
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    private static string Compose(List<int> cps)
    {
        var output = new List<int>(cps.Count);
        // lastClass is the class of the last character kept after the starter, 0 while none is.
        int starter = -1, lastClass = 0;
        foreach (int cp in cps)
        {
            int ccc = CombiningClass(cp);
            // A character joins the last starter unless a kept character between them has the same or
            // a higher class (a starter in between ends the run: it becomes the new starter).
            bool blocked = starter < 0 || (lastClass != 0 && lastClass >= ccc);
            if (!blocked && TryCompose(output[starter], cp, out int composite))
            {
                output[starter] = composite;
                continue;
            }
            if (ccc == 0) starter = output.Count;
            lastClass = ccc;
            output.Add(cp);
        }
        var sb = new StringBuilder(output.Count);
        foreach (int cp in output) sb.Append(new Rune(cp));
        return sb.ToString();
    }

    private static bool TryCompose(int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if ((uint)l < LCount && (uint)v < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, t = second - TBase;
        if ((uint)s < SCount && s % TCount == 0 && t > 0 && t < TCount)
        {
            composite = first + t;
            return true;
        }
        return Data.Compositions.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    public static int CombiningClass(int cp)
    {
        if (cp < FirstUnstable) return 0;
        ReadOnlySpan<int> ranges = CombiningClassRanges;
        int lo = 0, hi = ranges.Length / 3 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[mid * 3]) hi = mid - 1;
            else if (cp > ranges[mid * 3 + 1]) lo = mid + 1;
            else return ranges[mid * 3 + 2];
        }
        return 0;
    }

    /// <summary>The lookup tables built once from the generated arrays.</summary>
    private sealed class Tables
    {
        public readonly FrozenDictionary<int, (int First, int Second)> Decompositions;
        public readonly FrozenDictionary<long, int> Compositions;

        public Tables()
        {
            ReadOnlySpan<int> triples = DecompositionTriples;
            var excluded = new HashSet<int>();
            foreach (int cp in CompositionExclusions) excluded.Add(cp);
            var decompositions = new Dictionary<int, (int, int)>(triples.Length / 3);
            var compositions = new Dictionary<long, int>();
            for (int i = 0; i < triples.Length; i += 3)
            {
                int cp = triples[i], first = triples[i + 1], second = triples[i + 2];
                decompositions[cp] = (first, second);
                if (second >= 0 && !excluded.Contains(cp)) compositions[((long)first << 21) | (uint)second] = cp;
            }
            Decompositions = decompositions.ToFrozenDictionary();
            Compositions = compositions.ToFrozenDictionary();
        }
    }
}
