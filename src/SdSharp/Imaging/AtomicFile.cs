namespace SdSharp.Imaging;

/// <summary>
/// Writes files so that no reader, and no crash, ever sees a half-written file under the final name: the data
/// goes to a temporary file in the same folder (so the rename cannot cross file systems), is flushed to disk,
/// then renamed over the final name in one step.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/>; without <paramref name="overwrite"/> an existing file is an
    /// <see cref="InvalidInputException"/> and is left untouched.</summary>
    public static void Write(string path, Action<Stream> write, bool overwrite = true)
    {
        if (!TryWrite(path, write, overwrite)) throw new InvalidInputException($"{path}: already exists (not overwriting it)");
    }

    /// <summary>Writes <paramref name="path"/> unless it exists; false when it did (checked again at the rename,
    /// so a file created meanwhile by someone else is not replaced either).</summary>
    public static bool TryWriteNew(string path, Action<Stream> write) => TryWrite(path, write, overwrite: false);

    private static bool TryWrite(string path, Action<Stream> write, bool overwrite)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        if (!overwrite && File.Exists(full)) return false;
        string temp = TempPath(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);   // else a crash after the rename can leave an empty file behind
            }
            try
            {
                File.Move(temp, full, overwrite);   // without overwrite .NET refuses an existing target atomically
            }
            catch (IOException) when (!overwrite && File.Exists(full))
            {
                return false;
            }
            return true;
        }
        finally
        {
            DeleteQuietly(temp);   // after a successful rename there is nothing left to delete
        }
    }

    // Cleanup must not hide the exception that brought us here.
    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    // Hidden, recognisably ours, unique, and short enough for the 255-byte name limit.
    private static string TempPath(string full)
    {
        string name = Path.GetFileName(full);
        if (name.Length > 64) name = name[..64];
        return Path.Combine(Path.GetDirectoryName(full)!, $".{name}.{Guid.NewGuid():N}.tmp");
    }
}
