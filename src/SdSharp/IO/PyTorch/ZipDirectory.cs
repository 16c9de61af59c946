using System.Buffers.Binary;
using System.Text;

namespace SdSharp.IO;

/// <summary>One file of a zip archive, as its central directory describes it.</summary>
internal sealed record ZipEntry(string Name, int Method, long CompressedSize, long UncompressedSize, long LocalHeaderOffset, int Flags);

/// <summary>
/// Reads a zip archive's central directory from a mapped file, ZIP64 included (SD checkpoints are 2 to 7+ GB).
/// System.IO.Compression's ZipArchive hides where an entry's data starts; here we need that offset to use
/// stored (uncompressed) entries in place, without copying gigabytes.
/// </summary>
internal static class ZipDirectory
{
    private const uint EndOfDirectorySignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;
    private const uint CentralHeaderSignature = 0x02014b50;
    private const uint LocalHeaderSignature = 0x04034b50;

    public const int Stored = 0;
    public const int Deflated = 8;

    public static List<ZipEntry> Read(MappedFile file)
    {
        string path = file.Path;
        long end = FindEndOfDirectory(file) ?? throw FormatErrors.At(path, "zip end-of-directory record not found (truncated download?)");
        ReadOnlySpan<byte> eocd = file.Span(end, 22);
        long count = BinaryPrimitives.ReadUInt16LittleEndian(eocd[10..]);
        long size = BinaryPrimitives.ReadUInt32LittleEndian(eocd[12..]);
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(eocd[16..]);
        if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF) (count, size, offset) = ReadZip64End(file, end);
        if (!file.Contains(offset, size)) throw FormatErrors.At(path, "zip central directory lies outside the file");

        var entries = new List<ZipEntry>();
        long position = offset, directoryEnd = offset + size;
        for (long i = 0; i < count; i++)
        {
            if (directoryEnd - position < 46) throw FormatErrors.At(path, "zip central directory is truncated");
            ReadOnlySpan<byte> h = file.Span(position, 46);
            if (BinaryPrimitives.ReadUInt32LittleEndian(h) != CentralHeaderSignature) throw FormatErrors.At(path, "zip central directory is corrupt");
            int flags = BinaryPrimitives.ReadUInt16LittleEndian(h[8..]);
            int method = BinaryPrimitives.ReadUInt16LittleEndian(h[10..]);
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(h[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(h[32..]);
            long local = BinaryPrimitives.ReadUInt32LittleEndian(h[42..]);
            long next = position + 46 + nameLength + extraLength + commentLength;
            if (next > directoryEnd) throw FormatErrors.At(path, "zip central directory is truncated");
            string name = Encoding.UTF8.GetString(file.Span(position + 46, nameLength));
            ReadZip64Extra(path, file.Span(position + 46 + nameLength, extraLength), ref uncompressed, ref compressed, ref local);
            entries.Add(new ZipEntry(name, method, compressed, uncompressed, local, flags));
            position = next;
        }
        return entries;
    }

    /// <summary>Where an entry's bytes start: after its local header, whose name and extra lengths may differ from the central ones.</summary>
    public static long DataOffset(MappedFile file, ZipEntry entry)
    {
        if (!file.Contains(entry.LocalHeaderOffset, 30)) throw FormatErrors.At(file.Path, $"zip entry {FormatErrors.Quote(entry.Name)} lies outside the file");
        ReadOnlySpan<byte> h = file.Span(entry.LocalHeaderOffset, 30);
        if (BinaryPrimitives.ReadUInt32LittleEndian(h) != LocalHeaderSignature)
            throw FormatErrors.At(file.Path, $"zip entry {FormatErrors.Quote(entry.Name)} has a corrupt local header");
        long data = entry.LocalHeaderOffset + 30 + BinaryPrimitives.ReadUInt16LittleEndian(h[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(h[28..]);
        if (!file.Contains(data, entry.CompressedSize))
            throw FormatErrors.At(file.Path, $"zip entry {FormatErrors.Quote(entry.Name)} runs past the end of the file");
        return data;
    }

    /// <summary>The end-of-central-directory record is last, followed only by a comment of up to 64 KiB.</summary>
    private static long? FindEndOfDirectory(MappedFile file)
    {
        if (file.Length < 22) return null;
        long lowest = Math.Max(0, file.Length - 22 - 0xFFFF);
        for (long p = file.Length - 22; p >= lowest; p--)
        {
            ReadOnlySpan<byte> s = file.Span(p, 22);
            if (BinaryPrimitives.ReadUInt32LittleEndian(s) == EndOfDirectorySignature && p + 22 + BinaryPrimitives.ReadUInt16LittleEndian(s[20..]) <= file.Length)
                return p;
        }
        return null;
    }

    private static (long Count, long Size, long Offset) ReadZip64End(MappedFile file, long end)
    {
        string path = file.Path;
        if (end < 20 || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(end - 20, 4)) != Zip64LocatorSignature)
            throw FormatErrors.At(path, "zip64 locator missing");
        long record = ToLong(path, BinaryPrimitives.ReadUInt64LittleEndian(file.Span(end - 20 + 8, 8)));
        if (!file.Contains(record, 56) || BinaryPrimitives.ReadUInt32LittleEndian(file.Span(record, 4)) != Zip64EndSignature)
            throw FormatErrors.At(path, "zip64 end-of-directory record is corrupt");
        ReadOnlySpan<byte> r = file.Span(record, 56);
        return (ToLong(path, BinaryPrimitives.ReadUInt64LittleEndian(r[32..])),
                ToLong(path, BinaryPrimitives.ReadUInt64LittleEndian(r[40..])),
                ToLong(path, BinaryPrimitives.ReadUInt64LittleEndian(r[48..])));
    }

    /// <summary>The ZIP64 extra field holds, in order, the 64-bit values whose 32-bit fields are all ones.</summary>
    private static void ReadZip64Extra(string path, ReadOnlySpan<byte> extra, ref long uncompressed, ref long compressed, ref long local)
    {
        while (extra.Length >= 4)
        {
            int id = BinaryPrimitives.ReadUInt16LittleEndian(extra);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(extra[2..]);
            if (length > extra.Length - 4) break;
            ReadOnlySpan<byte> data = extra.Slice(4, length);
            if (id == 0x0001)
            {
                if (uncompressed == 0xFFFFFFFF) uncompressed = Next(path, ref data);
                if (compressed == 0xFFFFFFFF) compressed = Next(path, ref data);
                if (local == 0xFFFFFFFF) local = Next(path, ref data);
                return;
            }
            extra = extra[(4 + length)..];
        }
    }

    private static long Next(string path, ref ReadOnlySpan<byte> data)
    {
        if (data.Length < 8) throw FormatErrors.At(path, "zip64 extra field is truncated");
        long value = ToLong(path, BinaryPrimitives.ReadUInt64LittleEndian(data));
        data = data[8..];
        return value;
    }

    private static long ToLong(string path, ulong value) =>
        value <= long.MaxValue ? (long)value : throw FormatErrors.At(path, $"zip field {value} is out of range");
}
