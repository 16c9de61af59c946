using System.Text.Json;
using SdSharp.Evaluation;
using SdSharp.Imaging;

namespace SdSharp.Tests.Adherence;

/// <summary>
/// The C# adherence scorer against tools/train/adherence.py: images from the training renderer (clean, blurred,
/// noisy, empty, with a stray speck) and what the Python scorer found in each, written by
/// tools/train/make_adherence_fixtures.py.
/// </summary>
public class AdherenceScorerTests
{
    private static readonly Lazy<HeldOutSet> Set = new(() => HeldOutSet.Load(HeldOutPath));

    private static string HeldOutPath => Path.Combine(TestPaths.RepoRoot, "tools", "train", "heldout.json");

    public static TheoryData<string> FixtureFiles()
    {
        var data = new TheoryData<string>();
        foreach (var entry in Expected().EnumerateArray()) data.Add(entry.GetProperty("file").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void AgreesWithThePythonScorer(string file)
    {
        var expected = Expected().EnumerateArray().Single(e => e.GetProperty("file").GetString() == file);
        var found = Set.Value.CreateScorer().Score(PngDecoder.Decode(TestPaths.Fixture("adherence", file)).Image);

        var python = expected.GetProperty("found");
        Assert.Equal(python.GetProperty("background").GetString(), found.Background);
        Assert.Equal(NullableString(python.GetProperty("color")), found.Color);
        Assert.Equal(NullableString(python.GetProperty("position")), found.Position);
        Assert.Equal(NullableString(python.GetProperty("shape")), found.Shape);
        Assert.Equal(expected.GetProperty("area").GetInt32(), found.Area);
        AssertClose(expected.GetProperty("fill"), found.Fill);
        AssertClose(expected.GetProperty("mass"), found.Mass);
        var centroid = expected.GetProperty("centroid");
        if (centroid.ValueKind == JsonValueKind.Null)
        {
            Assert.Null(found.CentroidX);
        }
        else
        {
            AssertClose(centroid[0], found.CentroidX);
            AssertClose(centroid[1], found.CentroidY);
        }
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void FindsWhatWasRendered(string file)
    {
        var expected = Expected().EnumerateArray().Single(e => e.GetProperty("file").GetString() == file);
        var truth = expected.GetProperty("truth");
        var found = Set.Value.CreateScorer().Score(PngDecoder.Decode(TestPaths.Fixture("adherence", file)).Image);
        if (truth.ValueKind == JsonValueKind.Null)
        {
            Assert.Null(found.Color); // background only
            return;
        }
        var prompt = new HeldOutPrompt("", truth.GetProperty("color").GetString()!, truth.GetProperty("shape").GetString()!,
            truth.GetProperty("position").GetString()!, "", truth.GetProperty("background").GetString()!, 0);
        Assert.Equal(new AdherenceJudgement(true, true, true, true), AdherenceJudgement.Of(found, prompt));
    }

    [Fact]
    public void AFlatImageHasOnlyABackground()
    {
        var image = Filled(64, 64, Set.Value.Palette.Single(c => c.Name == "blue"));
        var found = Set.Value.CreateScorer().Score(image);
        Assert.Equal("blue", found.Background);
        Assert.Null(found.Color);
        Assert.Null(found.Shape);
        Assert.Null(found.Position);
        Assert.Equal(0, found.Area);
    }

    [Fact]
    public void AnAxisAlignedRectangleIsASquareWhereverItIs()
    {
        var palette = Set.Value.Palette;
        var image = Filled(128, 128, palette.Single(c => c.Name == "white"));
        Paint(image, palette.Single(c => c.Name == "black"), 80, 48, 110, 78); // right-hand side, centred vertically
        var found = Set.Value.CreateScorer().Score(image);
        Assert.Equal(("white", "black", "on the right", "square"), (found.Background, found.Color, found.Position, found.Shape));
        Assert.Equal(1.0, found.Fill);
        Assert.Equal(0.5, found.Mass);
        Assert.Equal(30 * 30, found.Area);
    }

    [Fact]
    public void TooSmallAMarkIsNoObject()
    {
        var palette = Set.Value.Palette;
        var image = Filled(128, 128, palette.Single(c => c.Name == "green"));
        Paint(image, palette.Single(c => c.Name == "red"), 60, 60, 65, 65); // 25 pixels < 0.2 % of 16384
        var found = Set.Value.CreateScorer().Score(image);
        Assert.Equal("green", found.Background);
        Assert.Null(found.Color);
        Assert.Equal(25, found.Area);
    }

    [Fact]
    public void RgbaImagesAreReadAsRgb()
    {
        var palette = Set.Value.Palette;
        var rgb = Filled(64, 64, palette.Single(c => c.Name == "yellow"));
        Paint(rgb, palette.Single(c => c.Name == "purple"), 8, 24, 24, 40);
        var rgba = rgb.ToRgba();
        Assert.Equal(Set.Value.CreateScorer().Score(rgb), Set.Value.CreateScorer().Score(rgba));
    }

    [Fact]
    public void BorderRingIsAboutAThirtySecondOfTheSide()
    {
        Assert.Equal(1, AdherenceScorer.BorderWidth(16));
        Assert.Equal(2, AdherenceScorer.BorderWidth(64));
        Assert.Equal(4, AdherenceScorer.BorderWidth(128));
        Assert.Equal(16, AdherenceScorer.BorderWidth(512));
    }

    [Fact]
    public void LargestComponentBreaksTiesByFirstPixel()
    {
        // Two 2-pixel components: the one starting first in row-major order wins.
        bool[] mask =
        [
            false, true, true, false,
            false, false, false, false,
            true, true, false, false,
        ];
        Assert.Equal([1, 2], AdherenceScorer.LargestComponent(mask, 4, 3)!.Order());
        Assert.Null(AdherenceScorer.LargestComponent(new bool[6], 3, 2));
    }

    [Fact]
    public void SummaryComparesWithTheTargets()
    {
        var all = new AdherenceJudgement(true, true, true, true);
        var noShape = new AdherenceJudgement(true, true, true, false);
        var summary = new AdherenceSummary([all, all, all, noShape]);
        Assert.Equal(0.75, summary.Shape);
        Assert.True(summary.MeetsTargets);
        Assert.False(new AdherenceSummary([all, noShape, noShape]).MeetsTargets);
        Assert.Contains("shape       75.0%  (target 70%)  ok", summary.ToString(), StringComparison.Ordinal);
    }

    private static JsonElement Expected()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("adherence", "expected.json")));
        return document.RootElement.GetProperty("images").Clone();
    }

    private static string? NullableString(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetString();

    private static void AssertClose(JsonElement expected, double? actual)
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.Null(actual);
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(expected.GetDouble(), actual!.Value, 1e-12);
    }

    private static Image Filled(int w, int h, NamedColor c)
    {
        var image = new Image(w, h, 3);
        for (int i = 0; i < w * h; i++)
        {
            image.Pixels[3 * i] = c.R;
            image.Pixels[3 * i + 1] = c.G;
            image.Pixels[3 * i + 2] = c.B;
        }
        return image;
    }

    /// <summary>Fills x in [x0, x1), y in [y0, y1).</summary>
    private static void Paint(Image image, NamedColor c, int x0, int y0, int x1, int y1)
    {
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
            {
                int i = 3 * (y * image.Width + x);
                image.Pixels[i] = c.R;
                image.Pixels[i + 1] = c.G;
                image.Pixels[i + 2] = c.B;
            }
    }
}
