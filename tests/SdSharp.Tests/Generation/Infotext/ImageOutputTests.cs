using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using SdSharp.IO;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class ImageOutputTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Image Pixel(byte value) => new(1, 1, 3, [value, value, value]);

    private void Touch(params string[] names)
    {
        foreach (string name in names) File.WriteAllBytes(Path.Combine(_dir, name), []);
    }

    [Fact]
    public void AnEmptyOrMissingFolderStartsAtZero()
    {
        Assert.Equal(0, ImageOutput.NextSequenceNumber(_dir));
        string folder = Path.Combine(_dir, "new", "outputs");
        string path = ImageOutput.SaveNumbered(folder, Pixel(1), "a cat\nSteps: 20, Seed: 42, CFG scale: 7.0", seed: 42);
        Assert.Equal(Path.Combine(folder, "00000-42.png"), path);
        Assert.Equal("a cat\nSteps: 20, Seed: 42, CFG scale: 7.0", PngDecoder.ReadInfo(path).GetText("parameters"));
    }

    [Fact]
    public void NumbersContinueAfterTheLargestWithoutFillingGaps()
    {
        Touch("00000-1.png", "00003-77.png", "00002-5-before-highres-fix.png", "grid-0009.png", "notes.txt", "00001.jpg");
        Directory.CreateDirectory(Path.Combine(_dir, "00004-a folder"));
        Assert.Equal(5, ImageOutput.NextSequenceNumber(_dir));
        Assert.EndsWith("00005-123.png", ImageOutput.SaveNumbered(_dir, Pixel(2), null, 123));
    }

    [Fact]
    public void NumbersAreReadLikePythonInt()
    {
        Touch("+7-x.png", " 12 -x.png", "1_3-x.png", ".00099-1.png.0123abcd.tmp", "99999.png", "abc-100.png", "-5-x.png");
        // "+7", " 12 " and "1_3" are numbers to int(); a temporary ".00099..." and "-5" (empty before the dash) are not.
        Assert.Equal(100000, ImageOutput.NextSequenceNumber(_dir));
        Assert.Equal("100000-3.png", ImageOutput.NumberedName(100000, 3));
        Assert.Equal("00042--1.png", ImageOutput.NumberedName(42, -1));
    }

    [Fact]
    public void ConcurrentWritersNeverShareOrOverwriteAName()
    {
        // Writers that count the same next number race for it; the losers move on to the next one.
        const int writers = 8, each = 6;
        var saved = new System.Collections.Concurrent.ConcurrentBag<(string Path, string Text)>();
        Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, w =>
        {
            for (int i = 0; i < each; i++)
            {
                string text = $"writer {w}, image {i}";
                saved.Add((ImageOutput.SaveNumbered(_dir, Pixel((byte)(w * each + i)), text, seed: 100), text));
            }
        });
        var files = Directory.GetFiles(_dir).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Enumerable.Range(0, writers * each).Select(n => ImageOutput.NumberedName(n, 100)), files);
        Assert.Equal(writers * each, saved.Select(s => s.Path).Distinct().Count());
        // Each file holds what the save that reported it wrote: nothing was overwritten.
        foreach (var (path, text) in saved) Assert.Equal(text, PngDecoder.ReadInfo(path).GetText("parameters"));
    }

    [Fact]
    public void AFileWhereTheFolderShouldBeIsAUserError()
    {
        Touch("outputs");
        Assert.Throws<InvalidInputException>(() => ImageOutput.SaveNumbered(Path.Combine(_dir, "outputs"), Pixel(1), null, 1));
    }

    [Fact]
    public void AnExplicitPathIsNeverReplaced()
    {
        string path = Path.Combine(_dir, "mine.png");
        ImageOutput.Save(path, Pixel(5), "first");
        Assert.Throws<FileExistsException>(() => ImageOutput.Save(path, Pixel(6), "second"));
        Assert.Equal("first", PngDecoder.ReadInfo(path).GetText("parameters"));
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Fact]
    public void NonLatin1InfotextGoesIntoAnITXtChunk()
    {
        string path = Path.Combine(_dir, "jp.png");
        ImageOutput.Save(path, Pixel(7), "東京の夜景\nSteps: 20, Seed: 1, CFG scale: 7.0");
        var chunk = Assert.Single(PngDecoder.ReadInfo(path).Text);
        Assert.Equal(PngTextKind.InternationalText, chunk.Kind);
        Assert.Equal("東京の夜景", InfotextParser.Parse(chunk.Value).Prompt);
    }
}
