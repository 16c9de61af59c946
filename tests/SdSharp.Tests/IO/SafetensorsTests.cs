using System.Buffers.Binary;
using System.Text;
using SdSharp.IO;

namespace SdSharp.Tests.IO;

public sealed unsafe class SafetensorsTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ElementType[] AllTypes = Enum.GetValues<ElementType>();

    [Fact]
    public void RoundTripsEveryElementType()
    {
        var random = new Random(1);
        var tensors = AllTypes.Select((type, i) =>
        {
            long[] shape = [i % 3 + 1, 5];
            var data = new byte[shape[0] * shape[1] * type.Size()];
            random.NextBytes(data);
            if (type == ElementType.Bool) for (int k = 0; k < data.Length; k++) data[k] &= 1;
            return (Name: $"t.{type}", Type: type, Shape: shape, Data: (ReadOnlyMemory<byte>)data);
        }).ToList();
        string path = Path.Combine(_dir, "all.safetensors");
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ü <b>" });

        using var file = SafetensorsFile.Open(path);
        Assert.Equal("safetensors", file.Format);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ü <b>", file.Metadata["note"]);
        Assert.Equal(tensors.Count, file.Tensors.Count);
        Assert.Equal(0, file.DataOffset % 8);
        foreach (var t in tensors)
        {
            TensorEntry entry = file.Find(t.Name)!;
            Assert.Equal(t.Type, entry.Type);
            Assert.Equal(t.Shape, entry.Shape);
            Assert.True(entry.Bytes.SequenceEqual(t.Data.Span));
            // Laid out largest element first, so each tensor is aligned to its element size.
            Assert.Equal(0, (entry.Pointer - (byte*)0 - (file.Tensors[0].Pointer - (byte*)0)) % entry.Type.Size());
        }
    }

    [Fact]
    public void ReadsValuesAsFloat()
    {
        string path = Path.Combine(_dir, "v.safetensors");
        Half[] halves = [(Half)1.5, (Half)(-2), (Half)0.25];
        SafetensorsWriter.Write(path, [("h", ElementType.F16, [3], TestCheckpoints.Bytes(halves)), ("empty", ElementType.F32, [0, 4], Array.Empty<byte>()), ("scalar", ElementType.I64, [], BitConverter.GetBytes(-9L))]);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([1.5f, -2f, 0.25f], file.Find("h")!.ToFloat32());
        Assert.Empty(file.Find("empty")!.ToFloat32());
        Assert.Equal(-9, file.Find("scalar")!.ReadAsDouble(0));
        Assert.Empty(file.Find("scalar")!.Shape);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesToEightBytes()
    {
        string path = Path.Combine(_dir, "p.safetensors");
        SafetensorsWriter.Write(path, [("abc", ElementType.U8, [3], new byte[] { 1, 2, 3 })]);
        byte[] bytes = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.Equal("{\"abc\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]}}", header.TrimEnd(' '));
        Assert.Equal(8 + n + 3, bytes.Length);
    }

    [Fact]
    public void StreamingWriterTakesTensorsInAnyOrderAndCommitsAtomically()
    {
        string path = Path.Combine(_dir, "s.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [new("b", ElementType.F16, [2]), new("a", ElementType.F32, [1])]))
        {
            writer.WriteTensor("b", new byte[] { 1, 2, 3, 4 });
            Assert.False(File.Exists(path));
            Assert.Throws<ArgumentException>(() => writer.WriteTensor("a", new byte[3]));
            Assert.Throws<ArgumentException>(() => writer.WriteTensor("nope", new byte[4]));
            Assert.Throws<InvalidOperationException>(() => writer.Commit());
            writer.WriteTensor("a", new byte[] { 9, 9, 9, 9 });
            Assert.Throws<InvalidOperationException>(() => writer.WriteTensor("a", new byte[4]));
            writer.Commit();
        }
        Assert.Equal(["s.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["a", "b"], file.Tensors.Select(t => t.Name));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, file.Find("b")!.Bytes.ToArray());
    }

    [Fact]
    public void ATensorCanBeWrittenInConsecutivePartsAndReadAfterItsPagesAreDropped()
    {
        string path = Path.Combine(_dir, "parts.safetensors");
        byte[] data = [.. Enumerable.Range(0, 3 * 4096 + 10).Select(i => (byte)(i * 7))];
        using (var writer = SafetensorsWriter.Create(path, [new("big", ElementType.U8, [data.Length]), new("empty", ElementType.F32, [0])]))
        {
            writer.WriteTensorPart("empty", []);
            writer.WriteTensorPart("big", data.AsSpan(0, 5000));
            Assert.Throws<InvalidOperationException>(() => writer.WriteTensor("big", data)); // already begun
            var e = Assert.Throws<InvalidOperationException>(() => writer.Commit());
            Assert.Contains("not completely", e.Message);
            Assert.Throws<ArgumentException>(() => writer.WriteTensorPart("big", data.AsSpan(0, data.Length - 4999)));
            writer.WriteTensorPart("big", data.AsSpan(5000));
            Assert.Throws<InvalidOperationException>(() => writer.WriteTensorPart("big", data.AsSpan(0, 0)));
            writer.Commit();
        }
        using var file = SafetensorsFile.Open(path);
        TensorEntry big = file.Find("big")!;
        Assert.Equal(data, big.Bytes.ToArray());
        big.DropFromMemory();
        Assert.Equal(data, big.Bytes.ToArray()); // read back from the file
    }

    [Fact]
    public void DisposingWithoutCommitLeavesNoFile()
    {
        string path = Path.Combine(_dir, "x.safetensors");
        using (var writer = SafetensorsWriter.Create(path, [new("a", ElementType.F32, [1])]))
            writer.WriteTensor("a", new byte[4]);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriterRefusesToReplaceAnExistingFileUnlessAsked()
    {
        string path = Path.Combine(_dir, "x.safetensors");
        File.WriteAllText(path, "old");
        var e = Assert.Throws<FileExistsException>(() => SafetensorsWriter.Write(path, [("a", ElementType.U8, [1], new byte[1])]));
        Assert.Contains("already exists", e.Message);
        SafetensorsWriter.Write(path, [("a", ElementType.U8, [1], new byte[1])], overwrite: true);
        using var file = SafetensorsFile.Open(path);
        Assert.Single(file.Tensors);
    }

    [Fact]
    public void EntriesCannotBeReadAfterDispose()
    {
        string path = Path.Combine(_dir, "d.safetensors");
        SafetensorsWriter.Write(path, [("a", ElementType.U8, [1], new byte[1])]);
        var file = SafetensorsFile.Open(path);
        TensorEntry entry = file.Tensors[0];
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => entry.Bytes.Length);
    }

    // ---- validation: every malformed header is a one-line ModelFormatException naming the file ----

    private string WriteRaw(string header, int dataBytes = 0, long? claimedLength = null)
    {
        string path = Path.Combine(_dir, $"bad{Guid.NewGuid():N}.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, claimedLength ?? json.Length);
        json.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static void AssertRejected(string path, params string[] fragments)
    {
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        foreach (string f in fragments) Assert.Contains(f, e.Message);
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "not valid JSON")]
    [InlineData("{\"a\":5}", "'a'", "not an object")]
    [InlineData("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", "'a'", "dtype is not a string")]
    [InlineData("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", "'a'", "unknown dtype 'F8_E4M3'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", "'a'", "shape is not an array")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "'a'", "non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", "'a'", "non-negative integers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "'a'", "two numbers")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}", "'a'", "past the end")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", "'a'", "reversed")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "'a'", "holds 4 bytes but F32 [2] needs 8")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "overlaps")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", "'a'", "too large")]
    [InlineData("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "'a'", "missing dtype")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "'a'", "missing shape")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "'a'", "missing data_offsets")]
    [InlineData("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", "'a'", "twice")]
    [InlineData("{\"__metadata__\":{\"k\":1}}", "__metadata__", "'k'", "not a string")]
    [InlineData("{\"__metadata__\":[\"k\"]}", "__metadata__", "not an object")]
    [InlineData("{\"__metadata__\":{\"k\":null}}", "not a string")]
    [InlineData("{\"__metadata__\":{},\"__metadata__\":{}}", "__metadata__ appears twice")]
    [InlineData("[1]", "does not start with '{'")]
    [InlineData("{} x", "not valid JSON")]
    public void RejectsMalformedHeaders(string header, params string[] fragments) => AssertRejected(WriteRaw(header, 16), fragments);

    [Fact]
    public void RejectsInvalidUtf8InTheHeader()
    {
        string path = WriteRaw("{\"a\":{}}");
        byte[] bytes = File.ReadAllBytes(path);
        bytes[10] = 0xFF; // inside the name
        File.WriteAllBytes(path, bytes);
        AssertRejected(path, "not valid JSON");
    }

    [Fact]
    public void RejectsShortEmptyAndOversizedFiles()
    {
        string empty = Path.Combine(_dir, "empty.safetensors");
        File.WriteAllBytes(empty, []);
        AssertRejected(empty, "empty file");

        string shortFile = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(shortFile, [1, 2, 3]);
        AssertRejected(shortFile, "shorter than");

        AssertRejected(WriteRaw("{}", claimedLength: 1L << 60), "header length 1152921504606846976 is larger than the file");
        AssertRejected(WriteRaw("{}", claimedLength: -1), "larger than the file");
    }

    [Fact]
    public void MissingFileIsAnInputError()
    {
        string path = Path.Combine(_dir, "missing.safetensors");
        var e = Assert.Throws<InvalidInputException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path + ": file not found", e.Message);
    }

    [Fact]
    public void ToleratesGapsUnknownFieldsAndEmptyHeaders()
    {
        AssertOpens(WriteRaw("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4],\"extra\":[[1],{}]}}", 8), 1);
        AssertOpens(WriteRaw("{}"), 0);
        AssertOpens(WriteRaw("{\"__metadata__\":null}"), 0);
        AssertOpens(WriteRaw("{\"z\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[0,0]},\"y\":{\"dtype\":\"F64\",\"shape\":[0],\"data_offsets\":[0,0]}}"), 2);
    }

    private static void AssertOpens(string path, int count)
    {
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(count, file.Tensors.Count);
    }

    // ---- fuzzing: truncations and flipped bytes give a valid file or a ModelFormatException, nothing else ----

    private byte[] SmallFile()
    {
        string path = Path.Combine(_dir, "small.safetensors");
        SafetensorsWriter.Write(path,
        [
            ("w", ElementType.F16, [2, 3], new byte[12]), ("b", ElementType.F32, [3], new byte[12]), ("i", ElementType.I64, [1], new byte[8]),
        ], new Dictionary<string, string> { ["k"] = "v" });
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void EveryTruncationIsRejectedCleanly()
    {
        byte[] bytes = SmallFile();
        string path = Path.Combine(_dir, "cut.safetensors");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        }
    }

    [Fact]
    public void FlippedBytesGiveAValidFileOrAFormatError()
    {
        byte[] original = SmallFile();
        var random = new Random(1234);
        string path = Path.Combine(_dir, "flip.safetensors");
        for (int variant = 0; variant < 400; variant++)
        {
            byte[] bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++)
            {
                // Mostly the header: that is where the parser's decisions are.
                int at = random.Next(4) == 0 ? random.Next(bytes.Length) : random.Next(Math.Min(bytes.Length, 8 + 120));
                bytes[at] = (byte)random.Next(256);
            }
            File.WriteAllBytes(path, bytes);
            FuzzCheck.OpensOrRejects(() => SafetensorsFile.Open(path));
        }
    }
}

/// <summary>Shared check of the fuzz tests: the only acceptable failure is ModelFormatException.</summary>
internal static class FuzzCheck
{
    public static void OpensOrRejects(Func<TensorFile> open)
    {
        try
        {
            using TensorFile file = open();
            // Touch every byte of every tensor: a pointer outside the file would crash here.
            long sum = 0;
            foreach (TensorEntry t in file.Tensors)
                foreach (byte b in t.Bytes) sum += b;
            GC.KeepAlive(sum);
        }
        catch (ModelFormatException)
        {
        }
    }
}
