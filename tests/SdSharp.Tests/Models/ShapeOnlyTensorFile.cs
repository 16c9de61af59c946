using System.Text.Json;
using SdSharp.IO;

namespace SdSharp.Tests.Models;

/// <summary>
/// The key/shape listing of a full-size checkpoint (tests/fixtures/models/shapes/*.json) as a tensor file with no
/// data: enough for detection, which reads names and shapes only.
/// </summary>
internal sealed unsafe class ShapeOnlyTensorFile : TensorFile
{
    private readonly List<TensorEntry> _entries = new();

    public ShapeOnlyTensorFile(string family, IEnumerable<string>? extraKeys = null) : base($"{family}.safetensors")
    {
        using var json = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("models", "shapes", family + ".json")));
        foreach (var property in json.RootElement.EnumerateObject())
            _entries.Add(new TensorEntry(this, property.Name, ElementType.F16, property.Value.EnumerateArray().Select(v => v.GetInt64()).ToArray(), null));
        foreach (string key in extraKeys ?? [])
            _entries.Add(new TensorEntry(this, key, ElementType.F16, [0], null));
    }

    public override string Format => "shapes";
    public override IReadOnlyList<TensorEntry> Tensors => _entries;
    protected override void ReleaseMemory() { }
}
