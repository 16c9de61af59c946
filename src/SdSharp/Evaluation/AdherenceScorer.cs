using SdSharp.Imaging;

namespace SdSharp.Evaluation;

/// <summary>What the scorer found in an image: the background colour always; the object's colour, position and
/// shape (null when no object was found) and the measurements they come from.</summary>
public sealed record AdherenceResult(
    string Background, string? Color, string? Position, string? Shape,
    int Area, double? Fill, double? Mass, double? CentroidX, double? CentroidY);

/// <summary>Per attribute, whether the image shows what the prompt asked for.</summary>
public readonly record struct AdherenceJudgement(bool Background, bool Color, bool Position, bool Shape)
{
    public static AdherenceJudgement Of(AdherenceResult found, HeldOutPrompt expected) => new(
        found.Background == expected.Background, found.Color == expected.Color,
        found.Position == expected.Position, found.Shape == expected.Shape);
}

/// <summary>
/// Classifies a generated image of one flat-coloured shape on a flat background: background colour, object
/// colour, position and shape. The rules are those of <c>tools/train/adherence.py</c>, step for step, so both
/// give the same answer on the same pixels (the tests check it on fixtures that script family writes):
/// <list type="number">
/// <item>every pixel takes the nearest palette colour (squared RGB distance, ties to the earlier entry);</item>
/// <item>background: the most frequent label on the border ring, max(1, round(side / 32)) pixels wide;</item>
/// <item>candidates: pixels labelled other than the background; their largest 4-connected component (ties: the
/// one whose first pixel comes first in row-major order);</item>
/// <item>object colour: the most frequent label in that component (ties to the earlier entry);</item>
/// <item>object mask: pixels past half way from the background colour to the object colour (a 50 % coverage
/// threshold), its largest component; under 0.2 % of the image means no object;</item>
/// <item>position: the anchor nearest the mask's centroid (pixel centres, fractions of the side);</item>
/// <item>shape: nearest prototype in (fill, 2 × mass), fill = area / bounding-box area, mass = centroid depth in
/// the box: circle (π/4, 1), square (1, 1), triangle pointing up (1/2, 4/3).</item>
/// </list>
/// </summary>
public sealed class AdherenceScorer
{
    /// <summary>Masks smaller than this fraction of the image are not an object.</summary>
    public const double MinAreaFraction = 0.002;

    private const double MassWeight = 2.0;

    private static readonly (string Name, double Fill, double Mass)[] ShapePrototypes =
    [
        ("circle", Math.PI / 4, 1.0),
        ("square", 1.0, 1.0),
        ("triangle", 0.5, 4.0 / 3.0),
    ];

    private readonly NamedColor[] _palette;
    private readonly NamedPosition[] _positions;

    public AdherenceScorer(IReadOnlyList<NamedColor> palette, IReadOnlyList<NamedPosition> positions)
    {
        if (palette.Count < 2) throw new ArgumentException("the palette needs at least two colours", nameof(palette));
        if (positions.Count < 1) throw new ArgumentException("at least one position is needed", nameof(positions));
        _palette = [.. palette];
        _positions = [.. positions];
    }

    /// <summary>Width of the border ring whose labels decide the background.</summary>
    public static int BorderWidth(int side) => Math.Max(1, (int)Math.Floor(side / 32.0 + 0.5));

    public AdherenceResult Score(Image image)
    {
        if (image.Channels != 3) image = image.ToRgb();
        int w = image.Width, h = image.Height, n = w * h;
        byte[] px = image.Pixels;

        var labels = new byte[n];
        for (int i = 0; i < n; i++) labels[i] = (byte)Nearest(px[3 * i], px[3 * i + 1], px[3 * i + 2]);

        int border = BorderWidth(Math.Min(w, h));
        var ringCounts = new int[_palette.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (y < border || y >= h - border || x < border || x >= w - border)
                    ringCounts[labels[y * w + x]]++;
        int bg = ArgMax(ringCounts);
        var noObject = new AdherenceResult(_palette[bg].Name, null, null, null, 0, null, null, null, null);

        var candidates = new bool[n];
        for (int i = 0; i < n; i++) candidates[i] = labels[i] != bg;
        var component = LargestComponent(candidates, w, h);
        if (component == null) return noObject;

        var objectCounts = new int[_palette.Length];
        foreach (int i in component) objectCounts[labels[i]]++;
        int obj = ArgMax(objectCounts);

        // t = (p - bg)·(obj - bg) / |obj - bg|² > 1/2, evaluated exactly in integers.
        var (bgColor, objColor) = (_palette[bg], _palette[obj]);
        int dr = objColor.R - bgColor.R, dg = objColor.G - bgColor.G, db = objColor.B - bgColor.B;
        long norm = (long)dr * dr + (long)dg * dg + (long)db * db;
        var inside = new bool[n];
        for (int i = 0; i < n; i++)
        {
            long dot = (long)(px[3 * i] - bgColor.R) * dr + (long)(px[3 * i + 1] - bgColor.G) * dg + (long)(px[3 * i + 2] - bgColor.B) * db;
            inside[i] = 2 * dot > norm;
        }
        var mask = LargestComponent(inside, w, h);
        int area = mask?.Count ?? 0;
        if (mask == null || area < MinAreaFraction * h * w)
            return noObject with { Area = area };

        long sumX = 0, sumY = 0;
        int top = int.MaxValue, bottom = int.MinValue, left = int.MaxValue, right = int.MinValue;
        foreach (int i in mask)
        {
            int y = i / w, x = i % w;
            sumX += x;
            sumY += y;
            top = Math.Min(top, y);
            bottom = Math.Max(bottom, y);
            left = Math.Min(left, x);
            right = Math.Max(right, x);
        }
        double meanX = (double)sumX / area, meanY = (double)sumY / area;
        double cx = (meanX + 0.5) / w, cy = (meanY + 0.5) / h;
        int boxH = bottom - top + 1, boxW = right - left + 1;
        double fill = area / (double)(boxH * boxW);
        double mass = (meanY + 0.5 - top) / boxH;

        var position = _positions[0];
        double best = double.MaxValue;
        foreach (var p in _positions)
        {
            double d = (p.X - cx) * (p.X - cx) + (p.Y - cy) * (p.Y - cy);
            if (d < best) (best, position) = (d, p);
        }
        string shape = ShapePrototypes[0].Name;
        best = double.MaxValue;
        foreach (var (name, protoFill, protoMass) in ShapePrototypes)
        {
            double d = (protoFill - fill) * (protoFill - fill) + (protoMass - MassWeight * mass) * (protoMass - MassWeight * mass);
            if (d < best) (best, shape) = (d, name);
        }
        return new AdherenceResult(_palette[bg].Name, _palette[obj].Name, position.Phrase, shape, area, fill, mass, cx, cy);
    }

    private int Nearest(byte r, byte g, byte b)
    {
        int best = 0, bestDistance = int.MaxValue;
        for (int k = 0; k < _palette.Length; k++)
        {
            var c = _palette[k];
            int d = (r - c.R) * (r - c.R) + (g - c.G) * (g - c.G) + (b - c.B) * (b - c.B);
            if (d < bestDistance) (best, bestDistance) = (k, d);
        }
        return best;
    }

    private static int ArgMax(int[] counts)
    {
        int best = 0;
        for (int k = 1; k < counts.Length; k++)
            if (counts[k] > counts[best]) best = k;
        return best;
    }

    /// <summary>Pixel indices of the largest 4-connected component of <paramref name="mask"/>, null if it is
    /// empty; ties go to the component found first in row-major order.</summary>
    internal static List<int>? LargestComponent(bool[] mask, int w, int h)
    {
        var seen = new bool[mask.Length];
        List<int>? best = null;
        var stack = new Stack<int>();
        for (int start = 0; start < mask.Length; start++)
        {
            if (!mask[start] || seen[start]) continue;
            var component = new List<int>();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int i = stack.Pop();
                component.Add(i);
                int y = i / w, x = i % w;
                if (y > 0) Visit(i - w);
                if (y < h - 1) Visit(i + w);
                if (x > 0) Visit(i - 1);
                if (x < w - 1) Visit(i + 1);
            }
            if (best == null || component.Count > best.Count) best = component;
        }
        return best;

        void Visit(int j)
        {
            if (mask[j] && !seen[j])
            {
                seen[j] = true;
                stack.Push(j);
            }
        }
    }
}
