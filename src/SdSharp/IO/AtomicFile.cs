using System.Runtime.InteropServices;

namespace SdSharp.IO;

/// <summary>
/// Writes a file under a temporary name in the destination folder and moves it into place on
/// <see cref="Commit"/>, so a crash or an error never leaves a half-written file under the final name (a
/// checkpoint that would later fail to load, or a truncated PNG). Disposing without committing deletes the
/// temporary file.
/// </summary>
public sealed partial class AtomicFile : IDisposable
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
        if (!overwrite && File.Exists(full)) throw new FileExistsException(path);
        if (Directory.Exists(full)) throw new InvalidInputException($"{path}: is a directory");
        string folder = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new InvalidInputException($"{path}: folder {folder} does not exist");
        // Hidden, recognisably ours, unique, and short enough for the 255-byte file name limit.
        string name = System.IO.Path.GetFileName(full);
        string temporary = System.IO.Path.Combine(folder, $".{(name.Length > 64 ? name[..64] : name)}.{Guid.NewGuid():N}.tmp");
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

    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> atomically.</summary>
    public static void Write(string path, Action<Stream> write, bool overwrite = false)
    {
        using var file = Create(path, overwrite);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>
    /// Writes <paramref name="path"/> unless it exists; false when it did, also when another process created it
    /// while we wrote (the final rename refuses to replace it). For numbered outputs: try the next name.
    /// </summary>
    public static bool TryWriteNew(string path, Action<Stream> write)
    {
        if (File.Exists(path)) return false;
        try
        {
            Write(path, write, overwrite: false);
            return true;
        }
        catch (FileExistsException)
        {
            return false;
        }
    }

    /// <summary>Flushes to disk and moves the file to its final name.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        Stream.Flush(flushToDisk: true);
        Stream.Dispose();
        try
        {
            if (Overwrite) File.Move(TemporaryPath, Path, overwrite: true);
            else MoveWithoutReplacing(TemporaryPath, Path);
        }
        catch (IOException) when (!Overwrite && File.Exists(Path))
        {
            File.Delete(TemporaryPath);
            throw new FileExistsException(Path);
        }
        catch
        {
            File.Delete(TemporaryPath);
            throw;
        }
        _committed = true;
    }

    /// <summary>
    /// Renames unless the target exists, atomically. .NET's File.Move(overwrite: false) checks and then renames on
    /// Linux, so two writers racing for one name can both "succeed"; renameat2(RENAME_NOREPLACE) cannot.
    /// </summary>
    private static void MoveWithoutReplacing(string from, string to)
    {
        if (OperatingSystem.IsLinux())
        {
            const int AtCurrentDirectory = -100, RenameNoReplace = 1, FileExists = 17;
            if (RenameAt2(AtCurrentDirectory, from, AtCurrentDirectory, to, RenameNoReplace) == 0) return;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == FileExists) throw new IOException($"{to} exists");
            // Other errors (a file system without RENAME_NOREPLACE): fall back to .NET's move.
        }
        File.Move(from, to, overwrite: false);
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    public void Dispose()
    {
        if (_committed) return;
        _committed = true;
        Stream.Dispose();
        File.Delete(TemporaryPath);
    }
}

/// <summary>The target of a write that must not overwrite already exists.</summary>
public sealed class FileExistsException(string path) : InvalidInputException($"{path}: already exists (not overwriting it)")
{
    public string Path { get; } = path;
}
