namespace SdSharp.Imaging;

/// <summary>
/// The data of a run of consecutive IDAT chunks as one stream, for the inflater. When the run ends, the chunk
/// reader is left on the first chunk after it.
/// </summary>
internal sealed class IdatReadStream(PngChunkReader chunks) : Stream
{
    private bool _ended;

    public override int Read(Span<byte> buffer)
    {
        while (!_ended)
        {
            if (chunks.Remaining > 0) return chunks.Read(buffer);
            NextChunk();
        }
        return 0;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Reads (and CRC-checks) whatever is left of the run without inflating it.</summary>
    public void Drain()
    {
        while (!_ended) NextChunk();
    }

    private void NextChunk()
    {
        chunks.End();
        chunks.Next();
        _ended = chunks.Type != "IDAT";
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
