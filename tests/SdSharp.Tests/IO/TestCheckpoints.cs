using System.Runtime.InteropServices;
using System.Text;
using SdSharp.Tensors;

namespace SdSharp.Tests.IO;

/// <summary>
/// A small torch checkpoint assembled by hand, in the zip and legacy layouts: an OrderedDict state dict (with
/// torch's <c>_metadata</c> attribute) holding f32/f16/bf16/i64/bool tensors, two tensors sharing one storage,
/// a transposed (non-contiguous) tensor, a nested dict, a list with a tied tensor, and top-level metadata.
/// </summary>
internal static class TestCheckpoints
{
    public static readonly float[] A = [1, 2, 3, 4, 5, 6];
    public static readonly Half[] Shared = [(Half)0.5, (Half)1.5, (Half)(-2), (Half)3, (Half)100, (Half)(-0.25)];
    public static readonly ushort[] BFloat = [NumericConversions.SingleToBFloat16(1.5f), NumericConversions.SingleToBFloat16(-3f), NumericConversions.SingleToBFloat16(0.125f)];
    public static readonly long[] Longs = [7, -8];
    public static readonly float[] T = [0, 1, 2, 3, 4, 5];
    public static readonly byte[] Bools = [1, 0];

    public static readonly string[] Names = ["model.a.weight", "model.b.weight", "model.c.bias", "model.d", "model.t", "nested.x", "list.0", "list.1"];

    public static byte[] Pickle(bool legacy = false)
    {
        var p = new PickleBuilder { LegacyIds = legacy };
        p.Proto(2).EmptyDict().BinPut(0).Mark();
        p.Str("state_dict").OrderedDict().BinPut(1).Mark();
        p.Str("model.a.weight").Tensor("FloatStorage", "0", 2, 3).BinPut(2);
        p.Str("model.b.weight").Tensor("HalfStorage", "1", 6, 0, [4], [1]);
        p.Str("model.c.bias").Tensor("HalfStorage", "1", 6, 4, [2], [1]);
        p.Str("model.d").Tensor("BFloat16Storage", "2", 3);
        p.Str("model.t").Tensor("FloatStorage", "4", 6, 0, [3, 2], [1, 3]);
        p.Str("nested").OrderedDict().Mark().Str("x").Tensor("LongStorage", "3", 2).SetItems();
        p.Str("list").EmptyList().Mark().BinGet(2).Tensor("BoolStorage", "5", 2).Appends();
        p.SetItems();
        // torch's state_dict() carries a _metadata attribute, pickled as BUILD state of the OrderedDict.
        p.EmptyDict().Str("_metadata").OrderedDict().Mark().Str("").EmptyDict().Str("version").Int(1).SetItem().SetItems().SetItem().Build();
        p.Str("global_step").Int(123);
        p.Str("lr").Float(0.5);
        p.Str("name").Str("test");
        p.Str("big").Int(1L << 40);
        return p.SetItems().Stop().ToArray();
    }

    public static List<(string Name, byte[] Data)> Storages() =>
    [
        ("0", Bytes(A)), ("1", Bytes(Shared)), ("2", Bytes(BFloat)), ("3", Bytes(Longs)), ("4", Bytes(T)), ("5", Bools),
    ];

    public static List<(string Name, byte[] Data)> ZipEntries(byte[]? pickle = null)
    {
        var entries = new List<(string, byte[])> { ("archive/data.pkl", pickle ?? Pickle()), ("archive/byteorder", "little"u8.ToArray()) };
        entries.AddRange(Storages().Select(s => ("archive/data/" + s.Name, s.Data)));
        entries.Add(("archive/version", "3\n"u8.ToArray()));
        return entries;
    }

    public static byte[] Zip(bool zip64 = false) => ZipBuilder.Stored(ZipEntries(), zip64);

    /// <summary>torch's legacy layout: magic, protocol, sys info, the object, the storage keys, then the storages.</summary>
    public static byte[] Legacy()
    {
        var file = new List<byte>();
        file.AddRange(new PickleBuilder().Proto(2).Raw(0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19).Stop().ToArray());
        file.AddRange(new PickleBuilder().Proto(2).Int(1001).Stop().ToArray());
        file.AddRange(new PickleBuilder().Proto(2).EmptyDict().Mark().Str("protocol_version").Int(1001).Str("little_endian").Bool(true)
            .Str("type_sizes").EmptyDict().Mark().Str("short").Int(2).Str("int").Int(4).Str("long").Int(4).SetItems().SetItems().Stop().ToArray());
        file.AddRange(Pickle(legacy: true));
        var keys = new PickleBuilder().Proto(2).EmptyList().Mark();
        foreach (var s in Storages()) keys.Str(s.Name);
        file.AddRange(keys.Appends().Stop().ToArray());
        foreach (var (name, data) in Storages())
        {
            int size = name switch { "0" or "4" => 4, "1" or "2" => 2, "3" => 8, _ => 1 };
            file.AddRange(BitConverter.GetBytes((long)(data.Length / size)));
            file.AddRange(data);
        }
        return [.. file];
    }

    public static byte[] Bytes<T>(T[] values) where T : struct => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    public static string Write(string folder, string name, byte[] bytes)
    {
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);
}
