using System.Security.Cryptography;
using System.Text.Json;

namespace SdSharp.Tests.Sampling.Random;

/// <summary>
/// tests/fixtures/rng/*.json (made by tools/reference/make_rng_fixtures.py): for each seed, consecutive
/// draws on one generator, each with the SHA-256 of its float32 little-endian bytes, the first 64 values'
/// bits, and the bits of every 997th value.
/// </summary>
public sealed record RngFixtureCase(ulong Seed, IReadOnlyList<RngFixtureDraw> Draws);

public sealed record RngFixtureDraw(int[] Shape, int Count, string Sha256, uint[] Head, (int Index, uint Bits)[] Sample)
{
    /// <summary>Checks <paramref name="values"/> against this draw; null when identical, else what differs.</summary>
    public string? Compare(float[] values)
    {
        if (values.Length != Count) return $"expected {Count} values, got {values.Length}";
        string sha = Convert.ToHexStringLower(SHA256.HashData(ToLittleEndianBytes(values)));
        if (sha == Sha256) return null;

        var known = Head.Select((bits, i) => (Index: i, Bits: bits)).Concat(Sample).DistinctBy(p => p.Index).ToList();
        var wrong = known.Where(p => BitConverter.SingleToUInt32Bits(values[p.Index]) != p.Bits).ToList();
        double maxDiff = wrong.Count == 0 ? 0 : wrong.Max(p => Math.Abs(values[p.Index] - BitConverter.UInt32BitsToSingle(p.Bits)));
        string first = wrong.Count == 0 ? "" :
            $"; first at {wrong[0].Index}: expected {BitConverter.UInt32BitsToSingle(wrong[0].Bits):R}, got {values[wrong[0].Index]:R}";
        return $"sha256 differs; {wrong.Count} of {known.Count} known values differ, max |diff| {maxDiff:G3}{first}";
    }

    public static byte[] ToLittleEndianBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return bytes;
    }
}

public static class RngFixture
{
    public static IReadOnlyList<RngFixtureCase> Load(string fileName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestPaths.Fixture("rng", fileName)));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new RngFixtureCase(
            c.GetProperty("seed").GetUInt64(),
            [.. c.GetProperty("draws").EnumerateArray().Select(d => new RngFixtureDraw(
                [.. d.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32())],
                d.GetProperty("count").GetInt32(),
                d.GetProperty("sha256").GetString()!,
                [.. d.GetProperty("head").EnumerateArray().Select(x => x.GetUInt32())],
                [.. d.GetProperty("sample").EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetUInt32()))]))]))];
    }

    /// <summary>Theory rows: (case index, description) so each case shows up by name.</summary>
    public static TheoryData<int, string> Rows(string fileName)
    {
        var rows = new TheoryData<int, string>();
        var cases = Load(fileName);
        for (int i = 0; i < cases.Count; i++)
            rows.Add(i, $"seed {cases[i].Seed}, counts {string.Join("+", cases[i].Draws.Select(d => d.Count))}");
        return rows;
    }
}
