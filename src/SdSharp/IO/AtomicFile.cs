namespace SdSharp.IO;

/// <summary>
/// Writes a file under a temporary name in the destination folder and moves it into place on
/// <see cref="Commit"/>, so a crash or an error never leaves a half-written file under the final name (a
/// checkpoint that would later fail to load, or a truncated PNG). Disposing without committing deletes the
/// temporary file.
/// </summary>
public sealed class AtomicFile : IDisposable
{
    private bool _committed;

    private AtomicFile(string path, string temporaryPath, FileStream stream, bool overwrite)
    {
        Path = path;
        TemporaryPath = temporaryPath;
        Stream = stream;
        Overwrite = overwrite;
    }

    /// <summary>The final name.</summary>
    public string Path { get; }

    /// <summary>Where the bytes are written until <see cref="Commit"/> (same folder, so the move is a rename).</summary>
    public string TemporaryPath { get; }

    public FileStream Stream { get; }
    public bool Overwrite { get; }

    /// <param name="overwrite">Replace an existing file at commit; otherwise an existing file is an error.</param>
    public static AtomicFile Create(string path, bool overwrite = false)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (!overwrite && File.Exists(full)) throw new InvalidInputException($"{path}: file already exists");
        if (Directory.Exists(full)) throw new InvalidInputException($"{path}: is a directory");
        string folder = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new InvalidInputException($"{path}: folder {folder} does not exist");
        string temporary = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        return new AtomicFile(path, temporary, stream, overwrite);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, bool overwrite = false)
    {
        using var file = Create(path, overwrite);
        file.Stream.Write(bytes);
        file.Commit();
    }

    /// <summary>Flushes to disk and moves the file to its final name.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        try
        {
            if (!Overwrite && File.Exists(Path)) throw new InvalidInputException($"{Path}: file already exists");
            File.Move(TemporaryPath, Path, Overwrite);
        }
        catch
        {
            File.Delete(TemporaryPath);
            throw;
        }
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        _committed = true;
        Stream.Dispose();
        File.Delete(TemporaryPath);
    }
}
