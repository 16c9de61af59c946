using System.Buffers.Binary;
using System.Text;

namespace SdSharp.Imaging;

/// <summary>Writes the PNG signature and chunks (length, type, data, CRC) to a stream.</summary>
internal sealed class PngChunkWriter(Stream output)
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public void WriteSignature() => output.Write(Signature);

    public void Write(string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(head, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        uint crc = Crc32.Update(Crc32.Update(0, head[4..]), data);
        output.Write(head);
        output.Write(data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }
}

/// <summary>Collects the deflater's output and writes it as IDAT chunks of a fixed size (the last one shorter).</summary>
internal sealed class IdatWriteStream(PngChunkWriter chunks, int chunkSize) : Stream
{
    private readonly byte[] _buffer = new byte[chunkSize];
    private int _used;

    public override void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, _buffer.Length - _used);
            data[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            data = data[n..];
            if (_used == _buffer.Length) Flush();
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Writes what is buffered as one IDAT chunk, if anything is.</summary>
    public override void Flush()
    {
        if (_used == 0) return;
        chunks.Write("IDAT", _buffer.AsSpan(0, _used));
        _used = 0;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
