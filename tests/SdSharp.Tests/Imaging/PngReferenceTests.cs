using System.Text.Json;
using SdSharp.Imaging;

namespace SdSharp.Tests.Imaging;

/// <summary>
/// Decodes PNGs written by tools/reference/make_png_fixtures.py (plain Python, no SdSharp) and compares with the
/// pixels that script says a decoder must produce.
/// </summary>
public class PngReferenceTests
{
    private sealed record ExpectedText(string Kind, string Keyword, string Value, bool Compressed, string LanguageTag,
                                       string TranslatedKeyword);

    private sealed record Fixture(string File, int Width, int Height, int Channels, int BitDepth, int ColorType,
                                  bool Interlaced, string? Pixels, ExpectedText[]? Text, string? Error);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    private static readonly Fixture[] Manifest =
        JsonSerializer.Deserialize<Fixture[]>(File.ReadAllText(TestPaths.Fixture("png", "manifest.json")), Json)!;

    public static TheoryData<string> Images => [.. Manifest.Where(f => f.Error is null).Select(f => f.File)];

    public static TheoryData<string> BrokenFiles => [.. Manifest.Where(f => f.Error is not null).Select(f => f.File)];

    [Fact]
    public void Manifest_covers_every_colour_type_and_bit_depth_both_interlaced_and_not()
    {
        var combos = Manifest.Where(f => f.Error is null).Select(f => (f.ColorType, f.BitDepth, f.Interlaced)).ToHashSet();
        int[][] depths = [[0, 1, 2, 4, 8, 16], [2, 8, 16], [3, 1, 2, 4, 8], [4, 8, 16], [6, 8, 16]];
        foreach (int[] row in depths)
            foreach (int depth in row[1..])
                foreach (bool interlaced in new[] { false, true })
                    Assert.Contains((row[0], depth, interlaced), combos);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Decodes_reference_image_exactly(string file)
    {
        Fixture expected = Manifest.Single(f => f.File == file);
        DecodedPng png = PngDecoder.Decode(TestPaths.Fixture("png", file));

        Assert.Equal((expected.Width, expected.Height, expected.Channels), (png.Image.Width, png.Image.Height, png.Image.Channels));
        Assert.Equal(File.ReadAllBytes(TestPaths.Fixture("png", expected.Pixels!)), png.Image.Pixels);
        PngHeader header = png.Info.Header;
        Assert.Equal((expected.BitDepth, expected.ColorType, expected.Interlaced), (header.BitDepth, (int)header.ColorType, header.Interlaced));
        AssertText(expected.Text ?? [], png.Info.Text);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Reads_header_and_text_without_pixels(string file)
    {
        Fixture expected = Manifest.Single(f => f.File == file);
        PngInfo info = PngDecoder.ReadInfo(TestPaths.Fixture("png", file));

        Assert.Equal((expected.Width, expected.Height), (info.Header.Width, info.Header.Height));
        AssertText(expected.Text ?? [], info.Text);
    }

    [Theory]
    [MemberData(nameof(BrokenFiles))]
    public void Refuses_broken_file_with_one_line_naming_it(string file)
    {
        Fixture expected = Manifest.Single(f => f.File == file);
        string path = TestPaths.Fixture("png", file);

        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(path));

        Assert.Equal($"{path}: {expected.Error}", error.Message);
        Assert.IsAssignableFrom<InvalidInputException>(error);
    }

    [Fact]
    public void Text_lookup_returns_the_last_chunk_with_that_keyword_like_PIL()
    {
        PngInfo info = PngDecoder.ReadInfo(TestPaths.Fixture("png", "text.png"));

        Assert.Equal("Prompt: 猫, Steps: 20", info.GetText("parameters"));
        Assert.Null(info.GetText("Bad"));   // malformed chunks are skipped
        Assert.Null(info.GetText("missing"));
    }

    private static void AssertText(ExpectedText[] expected, IReadOnlyList<PngText> actual)
    {
        var want = expected.Select(t => new PngText(t.Keyword, t.Value)
        {
            Kind = Enum.Parse<PngTextKind>(t.Kind),
            Compressed = t.Compressed,
            LanguageTag = t.LanguageTag,
            TranslatedKeyword = t.TranslatedKeyword,
        });
        Assert.Equal(want, actual);
    }
}
