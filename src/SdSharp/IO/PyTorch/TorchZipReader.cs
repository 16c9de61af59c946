using System.IO.Compression;
using SdSharp.IO.Pickle;

namespace SdSharp.IO;

/// <summary>
/// Reads torch's zip checkpoint format (torch.save since 1.6): <c>&lt;archive&gt;/data.pkl</c> is a pickle whose
/// persistent ids <c>('storage', storage_class, key, location, numel)</c> name raw storages stored as
/// <c>&lt;archive&gt;/data/&lt;key&gt;</c>. torch writes those uncompressed and 64-byte aligned, so they are used in place
/// from the mapping; a re-zipped (deflated) entry is inflated into memory the checkpoint owns.
/// </summary>
internal sealed unsafe class TorchZipReader
{
    /// <summary>Deflate cannot expand data more than about 1032 times; a larger claim is corrupt or a zip bomb.</summary>
    private const long MaxDeflateRatio = 1100;

    private readonly MappedFile _file;
    private readonly NativeBuffers _buffers;
    private readonly Dictionary<string, ZipEntry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PickleStorage> _storages = new(StringComparer.Ordinal);
    private readonly Dictionary<string, nint> _inflated = new(StringComparer.Ordinal);
    private string _prefix = "";
    private bool _bigEndian;

    private TorchZipReader(MappedFile file, NativeBuffers buffers)
    {
        _file = file;
        _buffers = buffers;
    }

    private string Path => _file.Path;

    public static object? Read(MappedFile file, NativeBuffers buffers) => new TorchZipReader(file, buffers).Read();

    private object? Read()
    {
        List<ZipEntry> entries = ZipDirectory.Read(_file);
        if (entries.Count == 0) throw FormatErrors.At(Path, "empty zip archive");
        int slash = entries[0].Name.IndexOf('/');
        if (slash <= 0) throw FormatErrors.At(Path, "a zip archive, but not a PyTorch checkpoint (its files are not in a folder)");
        _prefix = entries[0].Name[..(slash + 1)];
        foreach (ZipEntry e in entries) _entries.TryAdd(e.Name, e);

        if (_entries.ContainsKey(_prefix + "constants.pkl"))
            throw FormatErrors.At(Path, "a TorchScript archive (torch.jit.save), not a torch.save checkpoint");
        if (!_entries.TryGetValue(_prefix + "data.pkl", out ZipEntry? pickle))
            throw FormatErrors.At(Path, $"a zip archive, but not a PyTorch checkpoint (no {FormatErrors.Quote(_prefix + "data.pkl")})");
        if (_entries.TryGetValue(_prefix + "byteorder", out ZipEntry? byteorder))
        {
            byte* p = Bytes(byteorder, out long n);
            string order = System.Text.Encoding.ASCII.GetString(new ReadOnlySpan<byte>(p, (int)Math.Min(n, 16)));
            _bigEndian = order switch
            {
                "little" => false,
                "big" => true,
                _ => throw FormatErrors.At(Path, $"unknown byte order {FormatErrors.Quote(order)}"),
            };
        }
        byte* data = Bytes(pickle, out long length);
        return new Unpickler(Path, data, length, 0, LoadStorage).Load();
    }

    /// <summary>persistent_load for ('storage', storage_class, key, location, numel).</summary>
    private object LoadStorage(object? id)
    {
        if (id is not PickleTuple { Count: 5 } pid || TorchStorages.Text(pid[0]) != "storage")
            throw new PickleException("persistent id is not ('storage', type, key, location, numel)");
        ElementType type = TorchStorages.TypeOf(pid[1]);
        string key = TorchStorages.Text(pid[2]) ?? throw new PickleException("storage key is not a string");
        string location = TorchStorages.Text(pid[3]) ?? throw new PickleException("storage location is not a string");
        if (pid[4] is not long numel || numel < 0) throw new PickleException("storage size is not a non-negative int");
        if (_storages.TryGetValue(key, out PickleStorage? existing)) return existing;

        long bytes = TorchStorages.Bytes(numel, type, key);
        string name = _prefix + "data/" + key;
        if (!_entries.TryGetValue(name, out ZipEntry? entry)) throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(name)} is missing from the archive");
        byte* data = Bytes(entry, out long available);
        if (available < bytes) throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(name)} holds {available} bytes, its tensors need {bytes}");
        if (_bigEndian && type.Size() > 1) data = SwapToLittleEndian(data, bytes, type.Size());
        var storage = new PickleStorage(key, type, bytes, location) { Data = data };
        _storages[key] = storage;
        return storage;
    }

    /// <summary>An entry's uncompressed bytes: in place when stored, inflated once when deflated.</summary>
    private (nint Data, long Length) BytesOf(ZipEntry entry)
    {
        long offset = ZipDirectory.DataOffset(_file, entry);
        string name = FormatErrors.Quote(entry.Name);
        if ((entry.Flags & 1) != 0) throw FormatErrors.At(Path, $"zip entry {name} is encrypted");
        switch (entry.Method)
        {
            case ZipDirectory.Stored:
                if (entry.CompressedSize != entry.UncompressedSize) throw FormatErrors.At(Path, $"zip entry {name} has inconsistent sizes");
                return ((nint)(_file.Pointer + offset), entry.UncompressedSize);
            case ZipDirectory.Deflated:
                if (_inflated.TryGetValue(entry.Name, out nint done)) return (done, entry.UncompressedSize);
                nint inflated = (nint)Inflate(entry, offset);
                _inflated[entry.Name] = inflated;
                return (inflated, entry.UncompressedSize);
            default:
                throw FormatErrors.At(Path, $"zip entry {name} uses compression method {entry.Method}, which is not supported");
        }
    }

    private byte* Bytes(ZipEntry entry, out long length)
    {
        (nint data, length) = BytesOf(entry);
        return (byte*)data;
    }

    private byte* Inflate(ZipEntry entry, long offset)
    {
        string name = FormatErrors.Quote(entry.Name);
        if (entry.UncompressedSize > entry.CompressedSize * MaxDeflateRatio + 1024)
            throw FormatErrors.At(Path, $"zip entry {name} claims an impossible compression ratio");
        byte* target = _buffers.Allocate(entry.UncompressedSize);
        try
        {
            using var compressed = new UnmanagedMemoryStream(_file.Pointer + offset, entry.CompressedSize);
            using var inflater = new DeflateStream(compressed, CompressionMode.Decompress);
            long filled = 0;
            while (filled < entry.UncompressedSize)
            {
                int read = inflater.Read(new Span<byte>(target + filled, (int)Math.Min(entry.UncompressedSize - filled, 1 << 20)));
                if (read == 0) throw FormatErrors.At(Path, $"zip entry {name} inflates to fewer bytes than declared");
                filled += read;
            }
            Span<byte> probe = stackalloc byte[1];
            if (inflater.Read(probe) != 0) throw FormatErrors.At(Path, $"zip entry {name} inflates to more bytes than declared");
        }
        catch (InvalidDataException e)
        {
            throw FormatErrors.At(Path, $"zip entry {name} is corrupt ({e.Message})", e);
        }
        return target;
    }

    private byte* SwapToLittleEndian(byte* data, long bytes, int size)
    {
        byte* copy = _buffers.Allocate(bytes);
        for (long i = 0; i < bytes; i += size)
            for (int k = 0; k < size; k++) copy[i + k] = data[i + size - 1 - k];
        return copy;
    }
}

/// <summary>Pieces of torch's persistent ids shared by the zip and legacy formats.</summary>
internal static class TorchStorages
{
    /// <summary>Python 2 files may hold these internal strings as bytes; torch decodes them as ASCII.</summary>
    public static string? Text(object? value) => value switch
    {
        string s => s,
        byte[] b when b.All(x => x < 0x80) => System.Text.Encoding.ASCII.GetString(b),
        _ => null,
    };

    public static ElementType TypeOf(object? storageClass) =>
        storageClass is PickleGlobal { Kind: GlobalKind.StorageType } g ? g.ElementType
        : throw new PickleException($"storage type is a {PickleTypes.Name(storageClass)}, not a torch storage class");

    public static long Bytes(long numel, ElementType type, string key) =>
        numel >= 0 && numel <= long.MaxValue / type.Size() ? numel * type.Size()
        : throw new PickleException($"storage {key} size {numel} is out of range");

    /// <summary>0x1950a86a20f9469cfc6c: the first pickle of a legacy (pre-zip) torch file.</summary>
    public static readonly System.Numerics.BigInteger LegacyMagic =
        System.Numerics.BigInteger.Parse("01950A86A20F9469CFC6C", System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
}
