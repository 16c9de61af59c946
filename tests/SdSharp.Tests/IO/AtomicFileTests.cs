using SdSharp.IO;

namespace SdSharp.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AppearsOnlyOnCommit()
    {
        string path = Path.Combine(_dir, "out.png");
        using (var file = AtomicFile.Create(path))
        {
            file.Stream.Write([1, 2, 3]);
            Assert.False(File.Exists(path));
            Assert.Equal(_dir, Path.GetDirectoryName(file.TemporaryPath));
            file.Commit();
        }
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void DisposingWithoutCommitRemovesTheTemporaryFile()
    {
        using (var file = AtomicFile.Create(Path.Combine(_dir, "out.png"))) file.Stream.Write([1]);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void OverwritesOnlyWhenAsked()
    {
        string path = Path.Combine(_dir, "out.png");
        AtomicFile.WriteAllBytes(path, [1]);
        Assert.Contains("already exists", Assert.Throws<FileExistsException>(() => AtomicFile.WriteAllBytes(path, [2])).Message);

        // Created before the other file appeared: the commit still refuses, and cleans up.
        string late = Path.Combine(_dir, "late.png");
        using (var file = AtomicFile.Create(late))
        {
            File.WriteAllBytes(late, [9]);
            Assert.Throws<FileExistsException>(() => file.Commit());
        }
        Assert.Equal(new byte[] { 9 }, File.ReadAllBytes(late));

        AtomicFile.WriteAllBytes(path, [2], overwrite: true);
        Assert.Equal(new byte[] { 2 }, File.ReadAllBytes(path));
        Assert.Equal(2, Directory.GetFiles(_dir).Length);
    }

    [Fact]
    public void MissingFolderIsAnInputError() =>
        Assert.Contains("does not exist", Assert.Throws<InvalidInputException>(() => AtomicFile.Create(Path.Combine(_dir, "no", "x.png"))).Message);
}
