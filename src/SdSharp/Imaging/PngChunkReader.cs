using System.Buffers.Binary;
using System.Text;

namespace SdSharp.Imaging;

/// <summary>
/// Walks the chunks of a PNG stream one at a time, checking every chunk's CRC as its bytes go by. Never allocates
/// by a chunk's claimed length alone: callers bound the length first, and on seekable streams a length past the
/// end of the stream is reported as truncation before any buffer exists.
/// </summary>
internal sealed class PngChunkReader(Stream stream, string name)
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private readonly byte[] _scratch = new byte[8192];
    private uint _crc;

    /// <summary>The current chunk's type ("IHDR"), or "signature" before the first chunk.</summary>
    public string Type { get; private set; } = "signature";

    public int Length { get; private set; }

    /// <summary>Data bytes of the current chunk not yet read.</summary>
    public int Remaining { get; private set; }

    /// <summary>Critical chunks (first letter upper case) must be understood; ancillary ones may be skipped.</summary>
    public bool IsCritical => char.IsAsciiLetterUpper(Type[0]);

    public PngFormatException Error(string message, Exception? inner = null) => new($"{name}: {message}", inner);

    /// <summary>
    /// An error found in the middle of a chunk's data (bad zlib, bad filter byte). The chunk's CRC comes after its
    /// data, so check it first: a damaged file should say "CRC mismatch", not blame what the damage looked like.
    /// </summary>
    public PngFormatException DataError(string message, Exception? inner = null)
    {
        if (Type != "IDAT") return Error(message, inner);
        try
        {
            End();
        }
        catch (PngFormatException damage)
        {
            return damage;
        }
        return Error(message, inner);
    }

    public void ReadSignature()
    {
        Span<byte> head = stackalloc byte[8];
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (n < head.Length || !head.SequenceEqual(Signature)) throw Error("not a PNG file");
    }

    /// <summary>Moves to the next chunk's data; the current chunk must have been ended.</summary>
    public void Next()
    {
        Span<byte> head = _scratch.AsSpan(0, 8);
        if (stream.ReadAtLeast(head, 8, throwOnEndOfStream: false) < 8)
            throw Error(Type == "signature" ? "truncated after the PNG signature" : $"truncated after {Type} (no IEND chunk)");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
        for (int i = 4; i < 8; i++)
            if (!char.IsAsciiLetter((char)head[i])) throw Error($"corrupt chunk header after {Type}");
        if (length > int.MaxValue) throw Error($"corrupt chunk length after {Type}");
        Type = Encoding.ASCII.GetString(head[4..]);
        Length = Remaining = (int)length;
        _crc = Crc32.Update(0, head[4..]);
    }

    /// <summary>Reads up to <paramref name="buffer"/>.Length bytes of the current chunk's data (fewer only at its end).</summary>
    public int Read(Span<byte> buffer)
    {
        int want = Math.Min(buffer.Length, Remaining);
        if (want == 0) return 0;
        int n = stream.ReadAtLeast(buffer[..want], want, throwOnEndOfStream: false);
        if (n < want) throw Error($"truncated in {Type}");
        _crc = Crc32.Update(_crc, buffer[..n]);
        Remaining -= n;
        return n;
    }

    /// <summary>The whole data of the current chunk, CRC-checked; the caller has bounded <see cref="Length"/>.</summary>
    public byte[] ReadAll()
    {
        if (stream.CanSeek && Remaining > stream.Length - stream.Position) throw Error($"truncated in {Type}");
        var data = new byte[Remaining];
        Read(data);
        End();
        return data;
    }

    /// <summary>Reads past what is left of the current chunk's data, then checks its CRC.</summary>
    public void End()
    {
        while (Remaining > 0) Read(_scratch);
        Span<byte> stored = _scratch.AsSpan(0, 4);
        if (stream.ReadAtLeast(stored, 4, throwOnEndOfStream: false) < 4) throw Error($"truncated in {Type}");
        if (BinaryPrimitives.ReadUInt32BigEndian(stored) != _crc) throw Error($"CRC mismatch in chunk {Type}");
    }

    /// <summary>Skips the current chunk without reading it where the stream can seek (its CRC goes unchecked).</summary>
    public void SkipUnchecked()
    {
        if (!stream.CanSeek)
        {
            End();
            return;
        }
        long end = stream.Position + Remaining + 4;
        if (end > stream.Length) throw Error($"truncated in {Type}");
        stream.Position = end;
        Remaining = 0;
    }
}
