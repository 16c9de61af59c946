using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using SdSharp.Imaging;

namespace SdSharp.Tests.Imaging;

/// <summary>Builds PNG bytes by hand for tests that need files our encoder would never write.</summary>
internal static class PngTestFiles
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] Chunk(string type, ReadOnlySpan<byte> data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Update(0, chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    public static byte[] Ihdr(uint width, uint height, byte bitDepth = 8, PngColorType colorType = PngColorType.Rgb)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(data, width);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), height);
        data[8] = bitDepth;
        data[9] = (byte)colorType;
        return Chunk("IHDR", data);
    }

    public static byte[] Png(params byte[][] chunks) => [.. Signature, .. chunks.SelectMany(c => c), .. Chunk("IEND", [])];

    /// <summary><paramref name="count"/> zero bytes, zlib-compressed without ever holding them all in memory.</summary>
    public static byte[] CompressedZeros(long count)
    {
        var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (long left = count; left > 0; left -= zeros.Length) z.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
        return output.ToArray();
    }

    /// <summary>Offsets and lengths (type + data, what the CRC covers) of each chunk in a well-formed PNG.</summary>
    public static List<(int Offset, int Length)> ChunkSpans(byte[] png)
    {
        var spans = new List<(int, int)>();
        for (int pos = 8; pos + 12 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            spans.Add((pos + 4, 4 + length));
            pos += 12 + length;
        }
        return spans;
    }

    /// <summary>Recomputes the CRC of each chunk, so corrupted content gets past the CRC check into the parser.</summary>
    public static void FixCrcs(byte[] png, List<(int Offset, int Length)> spans)
    {
        foreach (var (offset, length) in spans)
            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(offset + length), Crc32.Update(0, png.AsSpan(offset, length)));
    }
}
