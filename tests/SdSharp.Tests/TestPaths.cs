namespace SdSharp.Tests;

/// <summary>Where tests find the repository's fixtures and the shared data beside the checkout.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    public static string Fixture(params string[] parts) => Path.Combine([Fixtures, .. parts]);

    /// <summary>The shared data folder beside the checkout (../shared/data); the CLIP merge list lives there.</summary>
    public static string SharedData => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data"));

    public static string ClipMergeList => Path.Combine(SharedData, "clip", "bpe_simple_vocab_16e6.txt.gz");

    /// <summary>A fresh empty directory under the system temp folder, for files a test writes.</summary>
    public static string NewTempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sdsharp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SdSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Cannot find the repository root (SdSharp.slnx) above " + AppContext.BaseDirectory);
    }
}
