using System.Globalization;
using System.Text;

namespace SdSharp.Evaluation;

/// <summary>Fraction of images right per attribute, against the bundled model's targets (issue: object colour
/// ≥ 85 %, background ≥ 90 %, position ≥ 80 %, shape ≥ 70 % over the held-out prompts, one seed each).</summary>
public sealed class AdherenceSummary
{
    public const double ColorTarget = 0.85, BackgroundTarget = 0.90, PositionTarget = 0.80, ShapeTarget = 0.70;

    public AdherenceSummary(IReadOnlyCollection<AdherenceJudgement> judgements)
    {
        Count = judgements.Count;
        double n = Math.Max(1, Count);
        Color = judgements.Count(j => j.Color) / n;
        Background = judgements.Count(j => j.Background) / n;
        Position = judgements.Count(j => j.Position) / n;
        Shape = judgements.Count(j => j.Shape) / n;
    }

    public int Count { get; }
    public double Color { get; }
    public double Background { get; }
    public double Position { get; }
    public double Shape { get; }

    public bool MeetsTargets => Color >= ColorTarget && Background >= BackgroundTarget && Position >= PositionTarget && Shape >= ShapeTarget;

    public override string ToString()
    {
        var text = new StringBuilder();
        Line("color", Color, ColorTarget);
        Line("background", Background, BackgroundTarget);
        Line("position", Position, PositionTarget);
        Line("shape", Shape, ShapeTarget);
        return text.ToString().TrimEnd('\n');

        void Line(string name, double rate, double target) => text.Append(CultureInfo.InvariantCulture,
            $"{name,-10} {rate * 100,5:F1}%  (target {target * 100:F0}%)  {(rate >= target ? "ok" : "BELOW")}\n");
    }
}
