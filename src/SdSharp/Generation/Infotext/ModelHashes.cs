using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SdSharp.Generation.Infotext;

/// <summary>
/// The hashes A1111 writes into infotexts and uses to find models: the SHA-256 of a whole file ("Model hash"
/// is its first 10 hex digits, embeddings' and refiners' too), the "addnet" SHA-256 of a safetensors file's
/// tensor data (LoRA hashes, 12 digits), and the legacy 8-digit hash of old infotexts. Full hashes of
/// multi-gigabyte checkpoints take seconds, so they are kept in a small JSON cache keyed by path, size and
/// modification time (A1111 keeps a cache.json for the same reason).
/// </summary>
public sealed class ModelHashes
{
    private const int ChunkSize = 4 << 20;
    private readonly HashCache? _cache;

    /// <param name="cacheFile">Where to keep computed hashes; null computes every time.</param>
    public ModelHashes(string? cacheFile) => _cache = cacheFile == null ? null : new HashCache(cacheFile);

    /// <summary>Hashes cached in <see cref="DefaultCacheFile"/>.</summary>
    public static ModelHashes Default { get; } = new(DefaultCacheFile());

    /// <summary>
    /// $SDSHARP_CACHE/hashes.json, else $XDG_CACHE_HOME/sdsharp/hashes.json, else ~/.cache/sdsharp/hashes.json
    /// (the local application data folder on Windows).
    /// </summary>
    public static string DefaultCacheFile()
    {
        string? root = Environment.GetEnvironmentVariable("SDSHARP_CACHE");
        if (string.IsNullOrEmpty(root))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string baseDir = !string.IsNullOrEmpty(xdg) ? xdg
                : OperatingSystem.IsWindows() ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            root = Path.Combine(baseDir, "sdsharp");
        }
        return Path.Combine(root, "hashes.json");
    }

    /// <summary>
    /// A checkpoint's name as A1111 writes it under "Model": the file name without extension (a diffusers
    /// folder, which A1111 cannot load, by its folder name).
    /// </summary>
    public static string ModelName(string path)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(path);
        return Directory.Exists(trimmed) ? Path.GetFileName(trimmed) : Path.GetFileNameWithoutExtension(trimmed);
    }

    /// <summary>Lowercase hex SHA-256 of the whole file.</summary>
    public string Sha256(string path) => Cached("sha256", path, stream => HashFrom(stream));

    /// <summary>"Model hash": the first 10 hex digits of <see cref="Sha256"/>.</summary>
    public string ShortHash(string path) => Sha256(path)[..10];

    /// <summary>
    /// kohya's "addnet" hash of a safetensors file: SHA-256 of everything after the 8-byte length and the JSON
    /// header, so editing the metadata keeps the hash. A1111 names LoRAs in "Lora hashes" by its first 12 digits.
    /// </summary>
    public string AddNetSha256(string path) => Cached("addnet", path, stream =>
    {
        Span<byte> length = stackalloc byte[8];
        stream.ReadExactly(length);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > (ulong)(stream.Length - 8)) throw new InvalidInputException($"{path}: not a safetensors file (header length {headerLength})");
        stream.Position = 8 + (long)headerLength;
        return HashFrom(stream);
    });

    /// <summary>
    /// The "Model hash" of infotexts written before 2023: SHA-256 of the 64 KiB at offset 1 MiB, first 8 digits.
    /// </summary>
    public static string LegacyHash(string path)
    {
        using var stream = OpenRead(path);
        var block = new byte[0x10000];
        stream.Position = Math.Min(0x100000, stream.Length);
        int read = stream.ReadAtLeast(block, block.Length, throwOnEndOfStream: false);
        return Convert.ToHexStringLower(SHA256.HashData(block.AsSpan(0, read)))[..8];
    }

    private string Cached(string kind, string path, Func<FileStream, string> compute)
    {
        string full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists) throw new InvalidInputException(Directory.Exists(full) ? $"{path}: is a folder, not a model file" : $"{path}: no such file");
        var key = new HashCache.Key(kind, full, info.Length, info.LastWriteTimeUtc.Ticks);
        if (_cache?.TryGet(key) is string known) return known;
        string hash;
        using (var stream = OpenRead(full)) hash = compute(stream);
        _cache?.Store(key, hash);
        return hash;
    }

    /// <summary>SHA-256 from the current position to the end, reading the next chunk while hashing this one.</summary>
    private static string HashFrom(FileStream stream)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] current = ArrayPool<byte>.Shared.Rent(ChunkSize), next = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int count = stream.Read(current, 0, ChunkSize);
            while (count > 0)
            {
                var pending = stream.ReadAsync(next, 0, ChunkSize);
                sha.AppendData(current, 0, count);
                count = pending.GetAwaiter().GetResult();
                (current, next) = (next, current);
            }
            return Convert.ToHexStringLower(sha.GetHashAndReset());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }
    }

    private static FileStream OpenRead(string path)
    {
        try
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.Read,
                BufferSize = 0, // we read in large chunks ourselves
                Options = FileOptions.SequentialScan | FileOptions.Asynchronous,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InvalidInputException($"{path}: no such file", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new InvalidInputException($"{path}: permission denied", e);
        }
    }
}
