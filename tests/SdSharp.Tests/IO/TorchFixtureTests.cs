using System.Text.Json;
using SdSharp.IO;
using SdSharp.IO.Pickle;

namespace SdSharp.Tests.IO;

/// <summary>
/// Files written by torch.save itself (tools/reference/make_io_fixtures.py, run with torch on the GPU machine),
/// checked against the names, dtypes, shapes and values torch reported in expected.json.
/// </summary>
public sealed unsafe class TorchFixtureTests
{
    private static string FixturePath(string name) => TestPaths.Fixture("io", name);

    private static JsonElement Expected()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(FixturePath("expected.json")));
        return document.RootElement.Clone();
    }

    [TorchFixtureFact]
    public void ZipStateDict() => CheckFile("zip_state_dict.ckpt");

    [TorchFixtureFact]
    public void LegacyStateDict() => CheckFile("legacy.pt");

    [TorchFixtureFact]
    public void Embedding()
    {
        CheckFile("embedding.pt");
        using var ckpt = PyTorchCheckpoint.Open(FixturePath("embedding.pt"));
        var root = Assert.IsType<PickleDict>(ckpt.Root);
        long token = Expected().GetProperty("files").GetProperty("embedding.pt").GetProperty("string_to_token").GetInt64();
        Assert.Equal(token, Assert.IsType<PickleDict>(root.Get("string_to_token")).Get("*"));
        var vectors = Assert.IsType<PickleTensor>(Assert.IsType<PickleDict>(root.Get("string_to_param")).Get("*"));
        Assert.True(vectors.RequiresGrad);
        Assert.Same(ckpt.Find("string_to_param.*"), vectors.Entry);
    }

    [TorchFixtureFact]
    public void MaliciousPickleIsRefused()
    {
        JsonElement malicious = Expected().GetProperty("malicious");
        string path = FixturePath(malicious.GetProperty("file").GetString()!);
        var e = Assert.Throws<ModelFormatException>(() => ModelFiles.Open(path));
        Assert.Contains($"refusing pickle global {malicious.GetProperty("refused_global").GetString()}", e.Message);
    }

    private static void CheckFile(string name)
    {
        JsonElement expected = Expected().GetProperty("files").GetProperty(name);
        using TensorFile file = ModelFiles.Open(FixturePath(name));
        Assert.Equal(expected.GetProperty("format").GetString(), file.Format);

        JsonElement[] tensors = [.. expected.GetProperty("tensors").EnumerateArray()];
        Assert.Equal(tensors.Select(t => t.GetProperty("name").GetString()), file.Tensors.Select(t => t.Name));
        var storageBase = new Dictionary<int, nint>();
        foreach (JsonElement t in tensors)
        {
            string tensorName = t.GetProperty("name").GetString()!;
            TensorEntry entry = file.Find(tensorName)!;
            Assert.Equal(t.GetProperty("dtype").GetString(), entry.Type.SafetensorsName());
            Assert.Equal(t.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), entry.Shape);
            double[] head = [.. t.GetProperty("head").EnumerateArray().Select(v => v.GetDouble())];
            Assert.Equal(head, Enumerable.Range(0, head.Length).Select(i => entry.ReadAsDouble(i)));
            double sum = Enumerable.Range(0, (int)entry.ElementCount).Sum(i => entry.ReadAsDouble(i));
            Assert.Equal(t.GetProperty("sum").GetDouble(), sum, 1e-9 * Math.Max(1, Math.Abs(sum)));

            // Contiguous views of one storage must point into the same bytes.
            if (t.GetProperty("contiguous").GetBoolean())
            {
                nint start = (nint)(entry.Pointer - t.GetProperty("storage_offset").GetInt64() * entry.Type.Size());
                int storage = t.GetProperty("storage").GetInt32();
                if (storageBase.TryGetValue(storage, out nint known)) Assert.Equal(known, start);
                else storageBase[storage] = start;
            }
        }
        foreach (JsonProperty m in expected.GetProperty("metadata").EnumerateObject())
            Assert.Equal(m.Value.GetString(), file.Metadata[m.Name]);
    }
}

/// <summary>A fact that is skipped, saying why, until the torch-written fixtures have been generated.</summary>
public sealed class TorchFixtureFactAttribute : FactAttribute
{
    public TorchFixtureFactAttribute()
    {
        if (!File.Exists(TestPaths.Fixture("io", "expected.json")))
            Skip = "tests/fixtures/io is missing: run tools/reference/make_io_fixtures.py with torch and commit its output";
    }
}
