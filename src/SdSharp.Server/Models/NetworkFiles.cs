using System.Buffers.Binary;
using System.Text.Json;

namespace SdSharp.Server.Models;

/// <summary>A LoRA or embedding file found on disk; its content is not interpreted here.</summary>
public sealed record NetworkFile(string Name, string Path);

/// <summary>
/// Lists the LoRA and textual-inversion files in their folders (A1111's Lora and embeddings folders). Applying
/// them is the generator's business; this only says what is there.
/// </summary>
public static class NetworkFiles
{
    public static readonly string[] LoraExtensions = [".safetensors", ".pt", ".ckpt"];
    public static readonly string[] EmbeddingExtensions = [".safetensors", ".pt", ".bin"];

    /// <summary>Files under <paramref name="folder"/> (recursively) with one of the extensions, named by file name without extension.</summary>
    public static IReadOnlyList<NetworkFile> List(string? folder, string[] extensions)
    {
        if (folder == null || !Directory.Exists(folder)) return [];
        try
        {
            return [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Where(f => extensions.Contains(System.IO.Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal)
                .Select(f => new NetworkFile(System.IO.Path.GetFileNameWithoutExtension(f), System.IO.Path.GetFullPath(f)))];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// An embedding's (vectors, width) from its safetensors header, the first tensor's [n, d] shape; null for
    /// other formats or unreadable files. Only the JSON header is read.
    /// </summary>
    public static (int Vectors, int Width)? EmbeddingShape(string path)
    {
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (length > 1 << 20 || (long)length > stream.Length - 8) return null;
            var header = new byte[length];
            stream.ReadExactly(header);
            using var json = JsonDocument.Parse(header);
            foreach (var tensor in json.RootElement.EnumerateObject())
            {
                if (tensor.Name == "__metadata__" || !tensor.Value.TryGetProperty("shape", out var shape) || shape.GetArrayLength() != 2) continue;
                return (shape[0].GetInt32(), shape[1].GetInt32());
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
