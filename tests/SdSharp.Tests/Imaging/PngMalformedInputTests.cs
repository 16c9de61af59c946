using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using SdSharp.Imaging;
using static SdSharp.Tests.Imaging.PngTestFiles;

namespace SdSharp.Tests.Imaging;

/// <summary>
/// Broken and hostile input: whatever the bytes, decoding ends in a <see cref="PngFormatException"/> or a valid
/// image, quickly and without allocating more than the (small) limits allow.
/// </summary>
public class PngMalformedInputTests
{
    // Small limits keep every mutant's worst case small: a corrupted IHDR may ask for up to this many pixels.
    private static readonly PngDecoderOptions Tight = new() { MaxPixels = 1 << 20, MaxTextBytes = 1 << 20, MaxTotalTextChars = 4 << 20 };
    private const long AllocationBudget = 24L << 20;

    // Files with many kinds of chunk: text of all kinds (some malformed), palette with tRNS, Adam7, split IDATs.
    public static TheoryData<string> Seeds => ["text.png", "palette2_trns_short.png", "rgb16_trns_adam7.png", "gray1_adam7.png"];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_truncation_is_a_format_error(string seed)
    {
        byte[] png = File.ReadAllBytes(TestPaths.Fixture("png", seed));
        for (int length = 0; length < png.Length; length++)
        {
            byte[] cut = png[..length];
            AssertFormatErrorOrImage(cut, decodes: false, $"{seed} cut at {length}");
            AssertOnlyFormatErrors(() => PngDecoder.ReadInfo(new MemoryStream(cut), "cut.png", Tight));
        }
    }

    [Fact]
    public void Truncation_of_a_stream_that_cannot_seek_is_a_format_error_too()
    {
        byte[] png = File.ReadAllBytes(TestPaths.Fixture("png", "text.png"));
        for (int length = 0; length < png.Length; length += 7)
        {
            var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(new OneWayStream(png[..length]), "s.png", Tight));
            Assert.StartsWith("s.png: ", error.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_byte_flips_are_caught(string seed)
    {
        byte[] png = File.ReadAllBytes(TestPaths.Fixture("png", seed));
        var random = new Random(1234);
        for (int variant = 0; variant < 150; variant++)
        {
            byte[] mutant = Mutate(png, random);
            AssertFormatErrorOrImage(mutant, decodes: null, $"{seed} variant {variant}");
            AssertOnlyFormatErrors(() => PngDecoder.ReadInfo(new MemoryStream(mutant), "m.png", Tight));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Byte_flips_behind_a_correct_CRC_are_caught_by_the_parser(string seed)
    {
        // With the CRC recomputed, corrupted IHDR fields, lengths, zlib streams, filter bytes and text reach the
        // parser; flips in the signature and chunk lengths are left in to knock the chunk walk off course.
        byte[] png = File.ReadAllBytes(TestPaths.Fixture("png", seed));
        var spans = ChunkSpans(png);
        var random = new Random(5678);
        for (int variant = 0; variant < 150; variant++)
        {
            byte[] mutant = Mutate(png, random);
            FixCrcs(mutant, spans);
            AssertFormatErrorOrImage(mutant, decodes: null, $"{seed} variant {variant}");
            AssertOnlyFormatErrors(() => PngDecoder.ReadInfo(new MemoryStream(mutant), "m.png", Tight));
        }
    }

    [Fact]
    public void Huge_dimensions_are_refused_from_IHDR_before_allocating()
    {
        byte[] png = Png(Ihdr(100_000, 100_000), Chunk("IDAT", CompressedZeros(1000)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, "big.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("big.png: 100000x100000 is 10000000000 pixels, over the limit of 178956970 (a decompression bomb?)", error.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Pixel_limit_is_configurable_and_does_not_apply_to_reading_text()
    {
        byte[] png = Png(Ihdr(1000, 1000), Chunk("tEXt", Encoding.Latin1.GetBytes("parameters\0hello")), Chunk("IDAT", CompressedZeros(1000)));
        var options = new PngDecoderOptions { MaxPixels = 999_999 };

        Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, options: options));
        Assert.Equal("hello", PngDecoder.ReadInfo(new MemoryStream(png), options: options).GetText("parameters"));
    }

    [Fact]
    public void Text_of_an_image_too_big_to_decode_is_read_without_touching_the_pixels()
    {
        // 100000x100000 claimed, IDAT nonsense: png-info must still work, and fast.
        byte[] png = Png(Ihdr(100_000, 100_000, 16, PngColorType.Rgba), Chunk("IDAT", new byte[100_000]),
                         Chunk("iTXt", Encoding.UTF8.GetBytes("parameters\0\0\0\0\0猫")));

        PngInfo info = PngDecoder.ReadInfo(new MemoryStream(png));

        Assert.Equal("猫", info.GetText("parameters"));
        Assert.Equal(new PngHeader(100_000, 100_000, 16, PngColorType.Rgba, false), info.Header);
    }

    [Fact]
    public void Zlib_bomb_in_IDAT_is_inflated_only_as_far_as_the_image_needs()
    {
        // 16x16 RGB needs 16 * 49 = 784 bytes; the IDAT stream would inflate to 256 MiB.
        byte[] png = Png(Ihdr(16, 16), Chunk("IDAT", CompressedZeros(256L << 20)));

        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        DecodedPng decoded = PngDecoder.Decode(png);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.All(decoded.Image.Pixels, p => Assert.Equal(0, p));
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
        Assert.True(clock.ElapsedMilliseconds < 2000, $"took {clock.ElapsedMilliseconds} ms"); // inflating it all takes far longer
    }

    [Fact]
    public void Raster_decoder_reads_exactly_the_bytes_the_image_needs()
    {
        foreach (bool interlaced in new[] { false, true })
        {
            var header = new PngHeader(13, 11, 4, PngColorType.Gray, interlaced);
            var endless = new EndlessZeros();

            new PngRasterDecoder(header, null, null).Decode(endless, new PngChunkReader(Stream.Null, "x.png"));

            long needed = interlaced ? Adam7Pass.All.Sum(p => p.Rows(11) * (1 + header.RowBytes(p.Columns(13)))) : 11 * (1 + 7);
            Assert.Equal(needed, endless.Consumed);
        }
    }

    [Fact]
    public void Zlib_bomb_in_zTXt_is_refused()
    {
        byte[] data = [.. Encoding.Latin1.GetBytes("parameters\0\0"), .. CompressedZeros(64L << 20)];
        byte[] png = Png(Ihdr(1, 1), Chunk("zTXt", data), Chunk("IDAT", CompressedZeros(4)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<PngFormatException>(() => PngDecoder.ReadInfo(new MemoryStream(png), "bomb.png"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal("bomb.png: zTXt chunk \"parameters\" inflates past the text limit of 16777216 bytes", error.Message);
        Assert.True(allocated < 48L << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Zlib_bomb_in_compressed_iTXt_is_refused_at_a_configured_limit()
    {
        byte[] data = [.. Encoding.Latin1.GetBytes("Comment\0\x01\0en\0\0"), .. CompressedZeros(1 << 20)];
        byte[] png = Png(Ihdr(1, 1), Chunk("iTXt", data), Chunk("IDAT", CompressedZeros(4)));

        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, "b.png", new PngDecoderOptions { MaxTextBytes = 50_000 }));

        Assert.Equal("b.png: iTXt chunk \"Comment\" inflates past the text limit of 50000 bytes", error.Message);
    }

    [Fact]
    public void Many_text_chunks_are_refused_past_the_total_limit()
    {
        byte[] chunk = Chunk("tEXt", Encoding.Latin1.GetBytes("k\0" + new string('v', 1000)));
        byte[] png = Png([Ihdr(1, 1), .. Enumerable.Repeat(chunk, 10), Chunk("IDAT", CompressedZeros(4))]);
        var options = new PngDecoderOptions { MaxTotalTextChars = 5000 };

        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, "t.png", options));

        Assert.Equal("t.png: text chunks hold more than the limit of 5000 characters in all", error.Message);
    }

    [Fact]
    public void Oversized_text_chunk_is_refused_before_it_is_read()
    {
        byte[] png = Png(Ihdr(1, 1), Chunk("tEXt", Encoding.Latin1.GetBytes("k\0" + new string('v', 20_000))), Chunk("IDAT", CompressedZeros(4)));

        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, "t.png", new PngDecoderOptions { MaxTextBytes = 1000 }));

        Assert.Equal("t.png: tEXt chunk of 20002 bytes is over the text limit of 1000 bytes", error.Message);
    }

    [Theory]
    [InlineData("tEXt", 10_000_000u)]      // under the text limit: would be read into memory if it were there
    [InlineData("prVt", 0x7F00_0000u)]     // an ancillary chunk we skip by reading through it
    public void Chunk_length_past_the_end_of_the_file_is_truncation_not_an_allocation(string type, uint claimed)
    {
        byte[] png = Png(Ihdr(1, 1), Chunk(type, Encoding.Latin1.GetBytes("k\0v")));
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(33), claimed);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<PngFormatException>(() => PngDecoder.Decode(png, "t.png"));

        Assert.Equal($"t.png: truncated in {type}", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    private static byte[] Mutate(byte[] png, Random random)
    {
        byte[] mutant = (byte[])png.Clone();
        int flips = random.Next(1, 4);
        for (int i = 0; i < flips; i++)
        {
            int at = random.Next(mutant.Length);
            mutant[at] = random.Next(3) == 0 ? (byte)(mutant[at] ^ (1 << random.Next(8))) : (byte)random.Next(256);
        }
        return mutant;
    }

    /// <summary>Decodes; only a PngFormatException may come out, within the time and allocation budget.</summary>
    private static void AssertFormatErrorOrImage(byte[] png, bool? decodes, string what)
    {
        var clock = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception? error = Record.Exception(() => PngDecoder.Decode(png, "m.png", Tight));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        if (error is not null && error is not PngFormatException)
            Assert.Fail($"{what}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
        if (error is not null)
            Assert.True(error.Message.StartsWith("m.png: ") && !error.Message.Contains('\n'), $"{what}: {error.Message}");
        if (decodes is bool expected) Assert.True(expected == (error is null), $"{what}: {error?.Message ?? "decoded"}");
        Assert.True(allocated < AllocationBudget, $"{what}: allocated {allocated} bytes");
        Assert.True(clock.ElapsedMilliseconds < 1000, $"{what}: took {clock.ElapsedMilliseconds} ms");
    }

    private static void AssertOnlyFormatErrors(Action read)
    {
        Exception? error = Record.Exception(read);
        if (error is not null && error is not PngFormatException)
            Assert.Fail($"{error.GetType().Name}: {error.Message}\n{error.StackTrace}");
    }

    /// <summary>A stream that only reads forward, like a network response or a pipe.</summary>
    private sealed class OneWayStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }

    /// <summary>Inflated data that never ends: what a zlib bomb looks like to the raster decoder.</summary>
    private sealed class EndlessZeros : Stream
    {
        public long Consumed { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Clear(buffer, offset, count);
            Consumed += count;
            return count;
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
}
