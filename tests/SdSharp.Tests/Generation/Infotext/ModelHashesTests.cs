using System.Text;
using System.Text.Json;
using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class ModelHashesTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Cache => Path.Combine(_dir, "cache", "hashes.json");

    private string WriteFile(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>9 MiB + 7 bytes: several read chunks and a partial last one. Digests from sha256sum.</summary>
    private static byte[] Pattern()
    {
        var bytes = new byte[9 * 1024 * 1024 + 7];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)((i * 31L + 7) % 251);
        return bytes;
    }

    [Fact]
    public void Sha256MatchesKnownDigests()
    {
        var hashes = new ModelHashes(cacheFile: null);
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", hashes.Sha256(WriteFile("abc.bin", "abc"u8.ToArray())));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", hashes.Sha256(WriteFile("empty.bin", [])));
        string big = WriteFile("model.safetensors", Pattern());
        Assert.Equal("0f54fa878fb60b8da2011ebcd3026ec5c5e99b937944e392406a93c52a8c8dc5", hashes.Sha256(big));
        Assert.Equal("0f54fa878f", hashes.ShortHash(big));
        Assert.Equal("7c04580a", ModelHashes.LegacyHash(big)); // sha256 of bytes 0x100000..0x110000
        Assert.Equal("model", ModelHashes.ModelName(big));
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "sdxl-base.v1")).FullName;
        Assert.Equal("sdxl-base.v1", ModelHashes.ModelName(folder + Path.DirectorySeparatorChar));
    }

    [Fact]
    public void AddNetHashSkipsTheSafetensorsHeader()
    {
        byte[] header = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"ss_output_name\":\"x\"}}");
        byte[] body = Pattern()[..100_000];
        byte[] file = [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. body];
        var hashes = new ModelHashes(cacheFile: null);
        string path = WriteFile("lora.safetensors", file);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), hashes.AddNetSha256(path));
        Assert.NotEqual(hashes.Sha256(path), hashes.AddNetSha256(path));
        Assert.Throws<InvalidInputException>(() => hashes.AddNetSha256(WriteFile("bad.safetensors", [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1])));
    }

    [Fact]
    public void TheCacheIsUsedWhileSizeAndTimeStayTheSame()
    {
        string path = WriteFile("model.ckpt", "abc"u8.ToArray());
        var first = new ModelHashes(Cache);
        string real = first.Sha256(path);
        Assert.True(File.Exists(Cache));

        // Plant a different hash for the same size and time: a fresh instance must believe the cache.
        string planted = new('f', 64);
        File.WriteAllText(Cache, File.ReadAllText(Cache).Replace(real, planted));
        Assert.Equal(planted, new ModelHashes(Cache).Sha256(path));

        // Rewriting the file changes its time: the cache no longer applies.
        File.WriteAllBytes(path, "abd"u8.ToArray());
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal("a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9", new ModelHashes(Cache).Sha256(path));

        using var json = JsonDocument.Parse(File.ReadAllText(Cache));
        var entry = json.RootElement.GetProperty("sha256").GetProperty(Path.GetFullPath(path));
        Assert.Equal(3, entry.GetProperty("size").GetInt64());
    }

    [Fact]
    public void ADamagedOrUnwritableCacheOnlyCostsTime()
    {
        string path = WriteFile("abc.bin", "abc"u8.ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(Cache)!);
        File.WriteAllText(Cache, "{ not json");
        Assert.Equal("ba7816bf8f", new ModelHashes(Cache).ShortHash(path));

        string folderAsCache = Path.Combine(_dir, "cache-is-a-folder");
        Directory.CreateDirectory(folderAsCache);
        Assert.Equal("ba7816bf8f", new ModelHashes(folderAsCache).ShortHash(path));
    }

    [Fact]
    public void MissingFilesAndFoldersAreUserErrors()
    {
        var hashes = new ModelHashes(cacheFile: null);
        Assert.Contains("no such file", Assert.Throws<InvalidInputException>(() => hashes.Sha256(Path.Combine(_dir, "missing.safetensors"))).Message);
        Assert.Contains("folder", Assert.Throws<InvalidInputException>(() => hashes.Sha256(_dir)).Message);
    }
}
