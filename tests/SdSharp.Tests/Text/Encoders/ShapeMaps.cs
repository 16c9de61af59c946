using System.Text.Json;
using SdSharp.IO;
using SdSharp.Models.Weights;

namespace SdSharp.Tests.Text.Encoders;

/// <summary>Weight maps over the key/shape listings of full-size files (tests/fixtures/models/shapes): names and shapes, no data.</summary>
internal static class ShapeMaps
{
    public static WeightMap SingleFile(string family, IWeightLayout layout) => WeightMap.Build(new ShapeListing(family), layout);

    private sealed unsafe class ShapeListing : TensorFile
    {
        private readonly List<TensorEntry> _entries = [];

        public ShapeListing(string family) : base($"{family}.safetensors")
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Fixture("models", "shapes", family + ".json")));
            foreach (var p in json.RootElement.EnumerateObject())
                _entries.Add(new TensorEntry(this, p.Name, ElementType.F16, [.. p.Value.EnumerateArray().Select(v => v.GetInt64())], null));
        }

        public override string Format => "shapes";
        public override IReadOnlyList<TensorEntry> Tensors => _entries;
        protected override void ReleaseMemory() { }
    }
}
