using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace SdSharp.IO;

/// <summary>
/// A whole file mapped read-only into memory. Model files are gigabytes: mapping lets the OS page in only the
/// tensors that are used, and lets several readers share the page cache. Every access is bounds-checked here,
/// so readers of untrusted files never touch memory outside the mapping.
/// </summary>
internal sealed unsafe partial class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _pointer;

    private MappedFile(string path, long length, MemoryMappedFile map, MemoryMappedViewAccessor view)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _pointer = p + _view.PointerOffset;
    }

    public string Path { get; }
    public long Length { get; }

    /// <summary>The first byte of the file; valid until disposed.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pointer == null, this);
            return _pointer;
        }
    }

    public static MappedFile Open(string path)
    {
        FileStream stream = OpenRead(path);
        try
        {
            long length = stream.Length;
            // A zero-length file cannot be mapped; it is no model either.
            if (length == 0) throw FormatErrors.At(path, "empty file");
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
                return new MappedFile(path, length, map, view);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Opens a file for reading; a missing or unreadable file is the user's error, reported in one line.</summary>
    public static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidInputException($"{path}: file not found", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidInputException($"{path}: permission denied", e);
        }
    }

    public bool Contains(long offset, long length) =>
        offset >= 0 && length >= 0 && offset <= Length && length <= Length - offset;

    /// <summary>A bounds-checked view of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length)
    {
        if (!Contains(offset, length)) throw new ArgumentOutOfRangeException(nameof(offset), $"{offset}+{length} is outside {Length} bytes.");
        return new ReadOnlySpan<byte>(Pointer + offset, length);
    }

    /// <summary>
    /// Takes the pages under [<paramref name="start"/>, +<paramref name="length"/>) out of this process's resident
    /// memory (Linux; elsewhere nothing). They stay in the page cache and are read back if touched again: the
    /// mapping is read-only, so nothing is lost. Lets a tool that reads each tensor once stream a file larger than
    /// memory without its resident size growing to the file's. Ranges outside the mapping are ignored (a
    /// tensor a reader copied into its own buffer).
    /// </summary>
    public void DropPages(byte* start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return;
        byte* begin = Pointer;
        if (start < begin || start + length > begin + Length) return;
        const int DontNeed = 4;
        long page = Environment.SystemPageSize;
        // Whole pages only; a page shared with the next tensor is simply read back when that tensor is used.
        long from = ((long)start) & ~(page - 1);
        long to = ((long)(start + length) + page - 1) & ~(page - 1);
        _ = MAdvise((nint)from, (nuint)(to - from), DontNeed);
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int MAdvise(nint address, nuint length, int advice);

    public void Dispose()
    {
        if (_pointer == null) return;
        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
