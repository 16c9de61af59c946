using SdSharp.IO;

namespace SdSharp.Tests.IO;

public sealed class ModelFilesTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DetectsTheFormatFromTheBytesNotTheName()
    {
        string safetensors = Path.Combine(_dir, "model.ckpt");
        SafetensorsWriter.Write(safetensors, [("w", ElementType.F16, [2, 2], new byte[8])]);
        string zip = TestCheckpoints.Write(_dir, "model.safetensors", TestCheckpoints.Zip());
        string legacy = TestCheckpoints.Write(_dir, "model.bin", TestCheckpoints.Legacy());

        Assert.Equal(ModelFormat.Safetensors, ModelFiles.Detect(safetensors));
        Assert.Equal(ModelFormat.PyTorchZip, ModelFiles.Detect(zip));
        Assert.Equal(ModelFormat.PyTorchLegacy, ModelFiles.Detect(legacy));

        using (TensorFile f = ModelFiles.Open(safetensors)) Assert.IsType<SafetensorsFile>(f);
        using (TensorFile f = ModelFiles.Open(zip)) Assert.Equal("pytorch-zip", f.Format);
        using (TensorFile f = ModelFiles.Open(legacy)) Assert.Equal("pytorch-legacy", f.Format);
    }

    [Fact]
    public void NamesWhatAFileIsWhenItIsNoModel()
    {
        string html = Path.Combine(_dir, "x.ckpt");
        File.WriteAllText(html, "<html><body>404</body></html>");
        var e = Assert.Throws<ModelFormatException>(() => ModelFiles.Open(html));
        Assert.Equal($"{html}: not a safetensors, PyTorch or diffusers model (starts with 3C 68 74 6D); it is text, perhaps an HTML page from a failed download", e.Message);

        string binary = Path.Combine(_dir, "y.bin");
        File.WriteAllBytes(binary, [0, 1, 2]);
        Assert.EndsWith("(starts with 00 01 02)", Assert.Throws<ModelFormatException>(() => ModelFiles.Open(binary)).Message);

        string gguf = Path.Combine(_dir, "z.gguf");
        File.WriteAllBytes(gguf, [(byte)'G', (byte)'G', (byte)'U', (byte)'F', 3, 0, 0, 0]);
        Assert.Contains("GGUF", Assert.Throws<ModelFormatException>(() => ModelFiles.Open(gguf)).Message);

        string tar = Path.Combine(_dir, "old.pt");
        var tarBytes = new byte[1024];
        "ustar"u8.CopyTo(tarBytes.AsSpan(257));
        File.WriteAllBytes(tar, tarBytes);
        Assert.Contains("before 0.4", Assert.Throws<ModelFormatException>(() => ModelFiles.Open(tar)).Message);

        string empty = Path.Combine(_dir, "empty.safetensors");
        File.WriteAllBytes(empty, []);
        Assert.Equal($"{empty}: empty file", Assert.Throws<ModelFormatException>(() => ModelFiles.Open(empty)).Message);

        string missing = Path.Combine(_dir, "missing.ckpt");
        Assert.Equal($"{missing}: file not found", Assert.Throws<InvalidInputException>(() => ModelFiles.Open(missing)).Message);
    }

    [Fact]
    public void SummarizesAModel()
    {
        using TensorFile ckpt = ModelFiles.Open(TestCheckpoints.Write(_dir, "m.ckpt", TestCheckpoints.Zip()));
        ModelSummary summary = ModelSummary.Of(ckpt);
        Assert.Equal("pytorch-zip", summary.Format);
        Assert.Equal(8, summary.TensorCount);
        Assert.Equal(2, summary.TensorsByType[ElementType.F16]);
        Assert.Equal(3, summary.TensorsByType[ElementType.F32]);
        Assert.Equal(6 + 4 + 2 + 3 + 6 + 2 + 6 + 2, summary.ParameterCount);
        Assert.Equal("pytorch-zip: 8 tensors (F32 3, F16 2, BF16 1, I64 1, BOOL 1), 31 parameters, 108 B", summary.ToString());
    }
}
