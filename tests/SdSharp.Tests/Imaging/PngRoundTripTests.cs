using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SdSharp.Imaging;

namespace SdSharp.Tests.Imaging;

public class PngRoundTripTests
{
    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int channels in new[] { 1, 2, 3, 4 })
            foreach (var (w, h) in new[] { (1, 1), (1, 7), (7, 1), (13, 11), (64, 33) })
                data.Add(channels, w, h);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Encoded_image_decodes_to_the_same_pixels(int channels, int width, int height)
    {
        Image image = TestImage(width, height, channels, seed: width * 100 + height);

        DecodedPng png = PngDecoder.Decode(PngEncoder.Encode(image));

        Assert.Equal((width, height, channels), (png.Image.Width, png.Image.Height, png.Image.Channels));
        Assert.Equal(image.Pixels, png.Image.Pixels);
        PngColorType expectedType = channels switch
        {
            1 => PngColorType.Gray, 2 => PngColorType.GrayAlpha, 3 => PngColorType.Rgb, _ => PngColorType.Rgba,
        };
        Assert.Equal(new PngHeader(width, height, 8, expectedType, false), png.Info.Header);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    public void Every_compression_level_round_trips(int level)
    {
        Image image = TestImage(40, 30, 3, seed: level);

        byte[] encoded = PngEncoder.Encode(image, options: new PngEncoderOptions { CompressionLevel = level, IdatChunkSize = 1000 });

        Assert.Equal(image.Pixels, PngDecoder.Decode(encoded).Image.Pixels);
        Assert.True(ChunkTypes(encoded).Count(t => t == "IDAT") > 1, "small IDAT chunks were asked for");
    }

    [Fact]
    public void Rows_get_different_filters_chosen_by_content()
    {
        // Left half noise, right half a smooth ramp: no single filter wins every row.
        Image image = TestImage(64, 64, 3, seed: 7);
        byte[] encoded = PngEncoder.Encode(image);

        byte[] raw = InflateIdat(encoded);
        int stride = 1 + 64 * 3;
        var filters = Enumerable.Range(0, 64).Select(y => raw[y * stride]).ToHashSet();
        Assert.Equal(64 * stride, raw.Length);
        Assert.True(filters.Count >= 2, $"filters used: {string.Join(",", filters)}");
        Assert.All(filters, f => Assert.InRange(f, (byte)0, (byte)4));
    }

    [Fact]
    public void Text_of_every_kind_round_trips_in_order()
    {
        PngText[] text =
        [
            new("parameters", "café, Steps: 20, CFG scale: 7.5"),
            new("Comment", "zipped Latin-1 ÿ") { Kind = PngTextKind.CompressedText, Compressed = true },
            new("Title", "猫の写真") { Kind = PngTextKind.InternationalText, LanguageTag = "ja", TranslatedKeyword = "タイトル" },
            new("Description", "Ωμέγα 🙂 " + new string('x', 500)) { Kind = PngTextKind.InternationalText, Compressed = true },
            new("Empty", ""),
        ];

        PngInfo info = PngDecoder.Decode(PngEncoder.Encode(TestImage(3, 2, 3, 1), text)).Info;

        Assert.Equal(text, info.Text);
    }

    [Fact]
    public void A1111_parameters_are_written_as_PIL_add_text_writes_them()
    {
        const string latin1 = "a café\nSteps: 20, Seed: 1";
        const string other = "a 猫\nSteps: 20, Seed: 1";
        Image image = TestImage(2, 2, 3, 1);

        byte[] png = PngEncoder.Encode(image, [PngText.For("parameters", latin1), PngText.For("parameters", other)]);

        var chunks = Chunks(png);
        Assert.Equal(["IHDR", "tEXt", "iTXt", "IDAT", "IEND"], chunks.Select(c => c.Type));
        // PIL: key + b"\0" + value.encode("latin-1") ...
        Assert.Equal([.. Encoding.Latin1.GetBytes("parameters\0"), .. Encoding.Latin1.GetBytes(latin1)], chunks[1].Data);
        // ... and when that fails, key + b"\0\0\0" + lang + b"\0" + tkey + b"\0" + value.encode("utf-8"), lang = tkey = "".
        Assert.Equal([.. Encoding.Latin1.GetBytes("parameters\0\0\0\0\0"), .. Encoding.UTF8.GetBytes(other)], chunks[2].Data);
        Assert.Equal(PngTextKind.Text, PngText.For("k", "ÿ").Kind);
        Assert.Equal(new PngText("k", "Ā") { Kind = PngTextKind.InternationalText }, PngText.For("k", "Ā"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("key\0word")]
    [InlineData("ключ")]
    [InlineData("a-keyword-of-eighty-characters-is-one-too-long-for-the-png-specification-xxxxxxxx")]
    public void Bad_keywords_are_refused_before_anything_is_written(string keyword)
    {
        var output = new MemoryStream();

        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(TestImage(2, 2, 3, 1), output, [new PngText(keyword, "v")]));
        Assert.Equal(0, output.Length);
    }

    [Fact]
    public void Non_Latin1_value_cannot_go_in_tEXt()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.Encode(TestImage(2, 2, 3, 1), [new PngText("k", "猫")]));
    }

    [Fact]
    public void Save_writes_atomically_and_can_refuse_to_overwrite()
    {
        string dir = TestPaths.NewTempDirectory();
        string path = Path.Combine(dir, "out.png");
        Image first = TestImage(5, 4, 3, 1), second = TestImage(5, 4, 4, 2);

        PngEncoder.Save(first, path, [PngText.For("parameters", "one")]);
        var error = Assert.Throws<SdSharp.IO.FileExistsException>(() => PngEncoder.Save(second, path, overwrite: false));
        Assert.Equal($"{path}: already exists (not overwriting it)", error.Message);
        Assert.Equal(first.Pixels, PngDecoder.Decode(path).Image.Pixels);

        PngEncoder.Save(second, path);
        Assert.Equal(second.Pixels, PngDecoder.Decode(path).Image.Pixels);
        Assert.Equal(["out.png"], Directory.GetFiles(dir).Select(Path.GetFileName));
    }

    [Fact]
    public void Reading_a_missing_file_names_it()
    {
        string path = Path.Combine(TestPaths.NewTempDirectory(), "missing.png");

        var error = Assert.Throws<InvalidInputException>(() => PngDecoder.Decode(path));

        Assert.Equal($"{path}: no such file", error.Message);
    }

    /// <summary>Left half random, right half a smooth ramp, so filters and compression both get work.</summary>
    internal static Image TestImage(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var image = new Image(width, height, channels);
        for (int y = 0; y < height; y++)
        {
            Span<byte> row = image.Row(y);
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    row[x * channels + c] = x < width / 2 ? (byte)random.Next(256) : (byte)(x * 3 + y * 2 + c * 50);
        }
        return image;
    }

    internal static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        foreach (var (offset, length) in PngTestFiles.ChunkSpans(png))
            chunks.Add((Encoding.ASCII.GetString(png, offset, 4), png.AsSpan(offset + 4, length - 4).ToArray()));
        return chunks;
    }

    private static IEnumerable<string> ChunkTypes(byte[] png) => Chunks(png).Select(c => c.Type);

    private static byte[] InflateIdat(byte[] png)
    {
        byte[] compressed = [.. Chunks(png).Where(c => c.Type == "IDAT").SelectMany(c => c.Data)];
        using var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        return raw.ToArray();
    }
}
