using System.Text.Json;

namespace SdSharp.Evaluation;

/// <summary>A colour word of the bundled model's captions and its exact RGB value.</summary>
public sealed record NamedColor(string Name, byte R, byte G, byte B);

/// <summary>A position phrase ("on the left") and its anchor, as fractions of the image side (y down).</summary>
public sealed record NamedPosition(string Phrase, double X, double Y);

/// <summary>One held-out prompt: the caption, the attributes it asks for and the seed to generate it with.</summary>
public sealed record HeldOutPrompt(string Prompt, string Color, string Shape, string Position, string Size, string Background, long Seed);

/// <summary>
/// The held-out caption combinations of the bundled model (<c>tools/train/heldout.json</c>, written by
/// <c>tools/train/dataset.py</c>): the palette, the position anchors, and prompts whose
/// (colour, shape, position, background) combination never occurs in training.
/// </summary>
public sealed class HeldOutSet
{
    public HeldOutSet(int imageSize, IReadOnlyList<NamedColor> palette, IReadOnlyList<string> shapes,
        IReadOnlyList<NamedPosition> positions, IReadOnlyList<HeldOutPrompt> prompts)
    {
        ImageSize = imageSize;
        Palette = palette;
        Shapes = shapes;
        Positions = positions;
        Prompts = prompts;
    }

    /// <summary>The model's native image side in pixels.</summary>
    public int ImageSize { get; }
    public IReadOnlyList<NamedColor> Palette { get; }
    public IReadOnlyList<string> Shapes { get; }
    public IReadOnlyList<NamedPosition> Positions { get; }
    public IReadOnlyList<HeldOutPrompt> Prompts { get; }

    /// <summary>A scorer with this set's palette and positions.</summary>
    public AdherenceScorer CreateScorer() => new(Palette, Positions);

    public static HeldOutSet Load(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var palette = root.GetProperty("palette").EnumerateObject().Select(p =>
            {
                var rgb = p.Value.EnumerateArray().Select(v => v.GetByte()).ToArray();
                if (rgb.Length != 3) throw new FormatException($"colour \"{p.Name}\" needs three values");
                return new NamedColor(p.Name, rgb[0], rgb[1], rgb[2]);
            }).ToArray();
            var shapes = root.GetProperty("shapes").EnumerateArray().Select(s => s.GetString()!).ToArray();
            var positions = root.GetProperty("positions").EnumerateObject().Select(p =>
            {
                var xy = p.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray();
                if (xy.Length != 2) throw new FormatException($"position \"{p.Name}\" needs two values");
                return new NamedPosition(p.Name, xy[0], xy[1]);
            }).ToArray();
            var prompts = root.GetProperty("prompts").EnumerateArray().Select(p => new HeldOutPrompt(
                p.GetProperty("prompt").GetString()!, p.GetProperty("color").GetString()!,
                p.GetProperty("shape").GetString()!, p.GetProperty("position").GetString()!,
                p.GetProperty("size").GetString()!, p.GetProperty("background").GetString()!,
                p.GetProperty("seed").GetInt64())).ToArray();
            return new HeldOutSet(root.GetProperty("image_size").GetInt32(), palette, shapes, positions, prompts);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidInputException($"{path}: not a held-out set ({e.Message})", e);
        }
        catch (IOException e)
        {
            throw new InvalidInputException($"{path}: cannot read the held-out set ({e.Message})", e);
        }
    }
}
