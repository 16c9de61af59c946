using System.Text.Json.Nodes;
using SdSharp.Imaging;
using SdSharp.Imaging.Ops;

namespace SdSharp.Tests.Imaging.Ops;

/// <summary>
/// The reference outputs of tools/reference/make_imageops_fixtures.py (Pillow, OpenCV and A1111's preparation
/// code run on small inputs), and a comparison that says how far off an image is when it is not exact.
/// </summary>
internal static class OpsFixtures
{
    private static readonly Lazy<JsonObject> LazyManifest = new(() =>
        JsonNode.Parse(File.ReadAllText(TestPaths.Fixture("imageops", "manifest.json")))!.AsObject());

    public static JsonObject Manifest => LazyManifest.Value;

    public static IEnumerable<JsonObject> Cases(string section) => Manifest[section]!.AsArray().Select(n => n!.AsObject());

    /// <summary>Theory data: the value of <paramref name="key"/> of every case of a section (unique per case).</summary>
    public static TheoryData<string> Ids(string section, string key = "expected") =>
        [.. Cases(section).Select(c => c[key]!.ToString())];

    public static JsonObject Case(string section, string id, string key = "expected") =>
        Cases(section).Single(c => c[key]!.ToString() == id);

    public static Image Load(string file) => PngDecoder.Decode(TestPaths.Fixture("imageops", file)).Image;

    public static Image Input(string name) => Load(Manifest["inputs"]![name]!.GetValue<string>());

    public static void AssertSame(Image expected, Image actual, string what)
    {
        Assert.True((expected.Width, expected.Height, expected.Channels) == (actual.Width, actual.Height, actual.Channels),
            $"{what}: expected {expected.Width}x{expected.Height}x{expected.Channels}, got {actual.Width}x{actual.Height}x{actual.Channels}");
        int differing = 0, maxDiff = 0;
        for (int i = 0; i < expected.Pixels.Length; i++)
        {
            int d = Math.Abs(expected.Pixels[i] - actual.Pixels[i]);
            if (d == 0) continue;
            differing++;
            maxDiff = Math.Max(maxDiff, d);
        }
        Assert.True(differing == 0, $"{what}: {differing} of {expected.Pixels.Length} bytes differ, by up to {maxDiff}");
    }

    public static CropRegion Region(JsonNode node)
    {
        int[] v = node.AsArray().Select(n => n!.GetValue<int>()).ToArray();
        return new CropRegion(v[0], v[1], v[2], v[3]);
    }

    public static ResampleFilter Filter(string name) => Enum.Parse<ResampleFilter>(name, ignoreCase: true);
}
