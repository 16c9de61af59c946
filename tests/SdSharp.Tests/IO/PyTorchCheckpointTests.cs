using SdSharp.IO;
using SdSharp.IO.Pickle;
using SdSharp.Tensors;

namespace SdSharp.Tests.IO;

public sealed unsafe class PyTorchCheckpointTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes) => TestCheckpoints.Write(_dir, name, bytes);

    public static TheoryData<string> Layouts => new() { "zip", "zip64", "deflated", "legacy" };

    private byte[] Checkpoint(string layout) => layout switch
    {
        "zip" => TestCheckpoints.Zip(),
        "zip64" => TestCheckpoints.Zip(zip64: true),
        "deflated" => ZipBuilder.Deflated(TestCheckpoints.ZipEntries()),
        _ => TestCheckpoints.Legacy(),
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void ReadsTheStateDict(string layout)
    {
        using var ckpt = PyTorchCheckpoint.Open(Write("model.ckpt", Checkpoint(layout)));
        Assert.Equal(layout == "legacy" ? "pytorch-legacy" : "pytorch-zip", ckpt.Format);
        Assert.Equal(TestCheckpoints.Names, ckpt.Tensors.Select(t => t.Name));

        TensorEntry a = ckpt.Find("model.a.weight")!;
        Assert.Equal(ElementType.F32, a.Type);
        Assert.Equal([2L, 3], a.Shape);
        Assert.Equal(TestCheckpoints.A, a.ToFloat32());

        TensorEntry b = ckpt.Find("model.b.weight")!, c = ckpt.Find("model.c.bias")!;
        Assert.Equal(ElementType.F16, b.Type);
        Assert.Equal(TestCheckpoints.Shared[..4].Select(h => (float)h), b.ToFloat32());
        Assert.Equal(TestCheckpoints.Shared[4..].Select(h => (float)h), c.ToFloat32());
        Assert.True(c.Pointer == b.Pointer + 8, "tensors viewing one storage share its bytes");

        TensorEntry d = ckpt.Find("model.d")!;
        Assert.Equal(ElementType.BF16, d.Type);
        Assert.Equal([1.5f, -3f, 0.125f], d.ToFloat32());

        // The transposed view is copied into row-major order: t[i, j] = T[i + 3 j].
        TensorEntry t = ckpt.Find("model.t")!;
        Assert.Equal([3L, 2], t.Shape);
        Assert.Equal([0f, 3, 1, 4, 2, 5], t.ToFloat32());

        Assert.Equal([7.0, -8.0], Enumerable.Range(0, 2).Select(i => ckpt.Find("nested.x")!.ReadAsDouble(i)));
        Assert.Equal(ElementType.I64, ckpt.Find("nested.x")!.Type);
        Assert.True(ckpt.Find("list.0")!.Pointer == a.Pointer, "a tied tensor shares the bytes");
        Assert.Equal(ElementType.Bool, ckpt.Find("list.1")!.Type);

        Assert.Equal("123", ckpt.Metadata["global_step"]);
        Assert.Equal("0.5", ckpt.Metadata["lr"]);
        Assert.Equal("test", ckpt.Metadata["name"]);
        Assert.Equal("1099511627776", ckpt.Metadata["big"]);
        Assert.False(ckpt.Metadata.ContainsKey("state_dict"));
    }

    [Fact]
    public void KeepsTheObjectTree()
    {
        using var ckpt = PyTorchCheckpoint.Open(Write("model.ckpt", TestCheckpoints.Zip()));
        var root = Assert.IsType<PickleDict>(ckpt.Root);
        var stateDict = Assert.IsType<PickleDict>(root.Get("state_dict"));
        Assert.True(stateDict.IsOrderedDict);
        Assert.IsType<PickleDict>(Assert.IsType<PickleDict>(stateDict.State).Get("_metadata"));
        var a = Assert.IsType<PickleTensor>(stateDict.Get("model.a.weight"));
        Assert.Same(ckpt.Find("model.a.weight"), a.Entry);
        Assert.Equal("0", a.Storage.Key);
        Assert.Equal("cpu", a.Storage.Location);
        var transposed = Assert.IsType<PickleTensor>(stateDict.Get("model.t"));
        Assert.False(transposed.IsContiguous);
        Assert.Equal([1L, 3], transposed.Strides);
    }

    [Fact]
    public void ReadsTextualInversionEmbeddings()
    {
        // A1111's layout: {'string_to_token': {'*': 265}, 'string_to_param': {'*': tensor[2, 4]}, 'name': 'x', 'step': 10}
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark()
            .Str("string_to_token").EmptyDict().Str("*").Int(265).SetItem()
            .Str("string_to_param").EmptyDict().Str("*").Tensor("FloatStorage", "0", 2, 4).SetItem()
            .Str("name").Str("x").Str("step").Int(10).Str("sd_checkpoint").None()
            .SetItems().Stop();
        string path = Write("emb.pt", ZipBuilder.Stored([("emb/data.pkl", p.ToArray()), ("emb/data/0", new byte[32])]));
        using var ckpt = PyTorchCheckpoint.Open(path);
        TensorEntry vectors = Assert.Single(ckpt.Tensors);
        Assert.Equal("string_to_param.*", vectors.Name);
        Assert.Equal([2L, 4], vectors.Shape);
        Assert.Equal("x", ckpt.Metadata["name"]);
        Assert.Equal("10", ckpt.Metadata["step"]);
        Assert.False(ckpt.Metadata.ContainsKey("sd_checkpoint"));
        var root = Assert.IsType<PickleDict>(ckpt.Root);
        Assert.Equal(265L, Assert.IsType<PickleDict>(root.Get("string_to_token")).Get("*"));
    }

    [Fact]
    public void NamesHypernetworkTensorsByIntegerKeys()
    {
        // {768: [OrderedDict(linear.0.weight=...)], 'layer_structure': [1, 2, 1], 'activation_func': 'relu'}
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark()
            .Int(768).EmptyList().OrderedDict().Mark().Str("linear.0.weight").Tensor("HalfStorage", "0", 2, 2).SetItems().Append()
            .Str("layer_structure").EmptyList().Mark().Float(1).Float(2).Float(1).Appends()
            .Str("activation_func").Str("relu")
            .SetItems().Stop();
        using var ckpt = PyTorchCheckpoint.Open(Write("hn.pt", ZipBuilder.Stored([("hn/data.pkl", p.ToArray()), ("hn/data/0", new byte[8])])));
        Assert.Equal("768.0.linear.0.weight", Assert.Single(ckpt.Tensors).Name);
        Assert.Equal("relu", ckpt.Metadata["activation_func"]);
        Assert.Equal([1.0, 2.0, 1.0], Assert.IsType<List<object?>>(((PickleDict)ckpt.Root!).Get("layer_structure")));
    }

    [Fact]
    public void ReadsParametersAndTensorsWithPythonState()
    {
        // _rebuild_parameter(tensor, True, OrderedDict()) and _rebuild_from_type_v2(_rebuild_tensor_v2, Tensor, args, {}).
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark()
            .Str("p").Global("torch._utils", "_rebuild_parameter").Mark().Tensor("FloatStorage", "0", 2).Bool(true).OrderedDict().Tuple().Reduce()
            .Str("q").Global("torch._tensor", "_rebuild_from_type_v2").Mark()
                .Global("torch._utils", "_rebuild_tensor_v2").Global("torch", "Tensor")
                .Mark().Mark().Str("storage").Global("torch", "UntypedStorage").Str("1").Str("cpu").Int(8).Tuple().BinPersId()
                .Int(0).Mark().Int(8).Tuple().Mark().Int(1).Tuple().Bool(false).OrderedDict().Tuple()
                .EmptyDict().Tuple().Reduce()
            .Str("r").Global("torch._utils", "_rebuild_tensor_v3").Mark()
                .Mark().Str("storage").Global("torch", "UntypedStorage").Str("1").Str("cpu").Int(8).Tuple().BinPersId()
                .Int(1).Mark().Int(1).Tuple().Mark().Int(1).Tuple().Bool(false).OrderedDict().Global("torch", "float32").Tuple().Reduce()
            .SetItems().Stop();
        byte[] floats = TestCheckpoints.Bytes(new float[] { 1, 2 });
        using var ckpt = PyTorchCheckpoint.Open(Write("p.pt", ZipBuilder.Stored([("a/data.pkl", p.ToArray()), ("a/data/0", floats), ("a/data/1", floats)])));
        Assert.Equal([1f, 2f], ckpt.Find("p")!.ToFloat32());
        Assert.Equal(ElementType.U8, ckpt.Find("q")!.Type);
        Assert.Equal(8, ckpt.Find("q")!.ElementCount);
        Assert.Equal([2f], ckpt.Find("r")!.ToFloat32());
    }

    [Fact]
    public void BigEndianCheckpointsAreSwapped()
    {
        var p = new PickleBuilder().Proto(2).EmptyDict().Str("w").Tensor("FloatStorage", "0", 2).SetItem().Stop();
        byte[] data = TestCheckpoints.Bytes(new float[] { 1.5f, -2f });
        for (int i = 0; i < data.Length; i += 4) Array.Reverse(data, i, 4);
        string path = Write("be.pt", ZipBuilder.Stored([("a/data.pkl", p.ToArray()), ("a/byteorder", "big"u8.ToArray()), ("a/data/0", data)]));
        using var ckpt = PyTorchCheckpoint.Open(path);
        Assert.Equal([1.5f, -2f], ckpt.Find("w")!.ToFloat32());
    }

    private ModelFormatException Rejected(byte[] file, string name = "bad.ckpt")
    {
        string path = Write(name, file);
        var e = Assert.Throws<ModelFormatException>(() => PyTorchCheckpoint.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static byte[] ZipWith(byte[] pickle, params (string, byte[])[] storages) =>
        ZipBuilder.Stored([("archive/data.pkl", pickle), .. storages.Select(s => ("archive/data/" + s.Item1, s.Item2))]);

    [Fact]
    public void RefusesCodeExecution()
    {
        // What pickling a class whose __reduce__ returns (os.system, ('echo pwned',)) produces.
        var system = new PickleBuilder().Proto(2).EmptyDict().Str("state_dict").Global("os", "system").Str("echo pwned").Tuple1().Reduce().SetItem().Stop();
        Assert.Contains("refusing pickle global os.system", Rejected(ZipWith(system.ToArray())).Message);

        var eval = new PickleBuilder().Proto(4).StackGlobal("builtins", "eval").Str("print(1)").Tuple1().Reduce().Stop();
        Assert.Contains("refusing pickle global builtins.eval", Rejected(ZipWith(eval.ToArray())).Message);

        // A whole pickled module (torch.save(model)) names its classes, which are refused as well.
        var module = new PickleBuilder().Proto(2).Global("torch.nn.modules.linear", "Linear").EmptyTuple().NewObj().Stop();
        Assert.Contains("refusing pickle global torch.nn.modules.linear.Linear", Rejected(ZipWith(module.ToArray())).Message);
    }

    [Fact]
    public void RejectsBrokenStorages()
    {
        var view = new PickleBuilder().Proto(2).Tensor("FloatStorage", "0", 4, 2, [3], [1]).Stop().ToArray();
        Assert.Contains("runs past its storage (4 elements)", Rejected(ZipWith(view, ("0", new byte[16]))).Message);

        var one = new PickleBuilder().Proto(2).Tensor("FloatStorage", "0", 4).Stop().ToArray();
        Assert.Contains("'archive/data/0' is missing", Rejected(ZipWith(one)).Message);
        Assert.Contains("holds 8 bytes, its tensors need 16", Rejected(ZipWith(one, ("0", new byte[8]))).Message);

        var qint = new PickleBuilder().Proto(2).Tensor("QInt8Storage", "0", 4).Stop().ToArray();
        Assert.Contains("unsupported tensor storage type torch.QInt8Storage", Rejected(ZipWith(qint, ("0", new byte[4]))).Message);

        // A stride-0 view of one element that claims 2^40 elements: refused instead of copied.
        var expanded = new PickleBuilder().Proto(2).EmptyDict().Str("e").Tensor("FloatStorage", "0", 1, 0, [1L << 20, 1L << 20], [0, 0]).SetItem().Stop().ToArray();
        Assert.Contains("too large to copy", Rejected(ZipWith(expanded, ("0", new byte[4]))).Message);

        var negative = new PickleBuilder().Proto(2).Tensor("FloatStorage", "0", 4, 0, [2], [-1]).Stop().ToArray();
        Assert.Contains("stride holds int -1", Rejected(ZipWith(negative, ("0", new byte[16]))).Message);
    }

    [Fact]
    public void RejectsArchivesThatAreNotCheckpoints()
    {
        Assert.Contains("not in a folder", Rejected(ZipBuilder.Stored([("data.pkl", [0x80, 2, (byte)'N', (byte)'.'])])).Message);
        Assert.Contains("no 'x/data.pkl'", Rejected(ZipBuilder.Stored([("x/readme.txt", [1])])).Message);
        Assert.Contains("TorchScript", Rejected(ZipBuilder.Stored([("m/data.pkl", [(byte)'N', (byte)'.']), ("m/constants.pkl", [(byte)'N', (byte)'.'])])).Message);
        Assert.Contains("empty zip archive", Rejected(ZipBuilder.Stored([])).Message);
        Assert.Contains("not a safetensors, PyTorch or diffusers model", Rejected("{\"a\": 1}"u8.ToArray().Prepend((byte)0).ToArray()).Message);
        string safetensors = Path.Combine(_dir, "real.safetensors");
        SafetensorsWriter.Write(safetensors, [("a", ElementType.U8, [1], new byte[1])]);
        var e = Assert.Throws<ModelFormatException>(() => PyTorchCheckpoint.Open(safetensors));
        Assert.Contains("not a PyTorch checkpoint (this is a safetensors file)", e.Message);
    }

    [Fact]
    public void RejectsDeflateBombs()
    {
        byte[] zip = ZipBuilder.Deflated([("archive/data.pkl", new byte[100_000])]);
        // Claim 4 GB uncompressed in the central directory (offset 24 of the entry's header).
        int central = FindLast(zip, [0x50, 0x4b, 0x01, 0x02]);
        BitConverter.GetBytes(0xFFFFFFF0u).CopyTo(zip, central + 24);
        Assert.Contains("impossible compression ratio", Rejected(zip).Message);
    }

    [Fact]
    public void RejectsLegacyFilesWithBrokenData()
    {
        byte[] legacy = TestCheckpoints.Legacy();
        Assert.Contains("file ends inside storage", Rejected(legacy[..^1]).Message);
        Assert.Contains("legacy PyTorch protocol version 1002", Rejected(
            [.. legacy[..15], .. new PickleBuilder().Proto(2).Int(1002).Stop().ToArray()]).Message);
        var plain = new PickleBuilder().Proto(2).EmptyDict().Stop().ToArray();
        var e = Assert.Throws<ModelFormatException>(() => ModelFiles.OpenFile(Write("plain.pkl", plain)));
        Assert.Contains("a Python pickle, but not a PyTorch checkpoint", e.Message);
    }

    [Fact]
    public void SharedContainersAreWalkedOnce()
    {
        // L0 = [t], L(k+1) = [Lk, Lk]: 2^60 paths to the tensor, but each list is walked once.
        var p = new PickleBuilder().Proto(2).EmptyDict().Str("x").EmptyList().Tensor("FloatStorage", "0", 1).Append().BinPut(0).Pop();
        for (byte k = 0; k < 60; k++) p.EmptyList().Mark().BinGet(k).BinGet(k).Appends().BinPut((byte)(k + 1)).Pop();
        p.BinGet(60).SetItem().Stop();
        using var ckpt = PyTorchCheckpoint.Open(Write("dag.pt", ZipWith(p.ToArray(), ("0", new byte[4]))));
        Assert.Equal("x" + string.Concat(Enumerable.Repeat(".0", 61)), Assert.Single(ckpt.Tensors).Name);
    }

    [Fact]
    public void DeepNestingIsRefused()
    {
        var p = new PickleBuilder().Proto(2).Tensor("FloatStorage", "0", 1);
        for (int k = 0; k < 150; k++) p.Tuple1();
        Assert.Contains("more than 100 deep", Rejected(ZipWith(p.Stop().ToArray(), ("0", new byte[4]))).Message);
    }

    private static int FindLast(byte[] data, byte[] pattern)
    {
        for (int i = data.Length - pattern.Length; i >= 0; i--)
            if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern)) return i;
        throw new InvalidOperationException("pattern not found");
    }

    // ---- fuzzing ----

    [Fact]
    public void EveryTruncationOfAZipCheckpointIsRejectedCleanly()
    {
        byte[] bytes = TestCheckpoints.Zip();
        string path = Path.Combine(_dir, "cut.ckpt");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            FuzzCheck.OpensOrRejects(() => PyTorchCheckpoint.Open(path));
        }
    }

    [Fact]
    public void EveryTruncationOfALegacyCheckpointIsRejectedCleanly()
    {
        byte[] bytes = TestCheckpoints.Legacy();
        string path = Path.Combine(_dir, "cut.pt");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            Assert.Throws<ModelFormatException>(() => PyTorchCheckpoint.Open(path).Dispose());
        }
    }

    [Theory]
    [InlineData("zip", 1)]
    [InlineData("zip64", 2)]
    [InlineData("deflated", 3)]
    [InlineData("legacy", 4)]
    public void FlippedBytesGiveAValidCheckpointOrAFormatError(string layout, int seed)
    {
        byte[] original = Checkpoint(layout);
        var random = new Random(seed);
        string path = Path.Combine(_dir, "flip.ckpt");
        for (int variant = 0; variant < 300; variant++)
        {
            byte[] bytes = (byte[])original.Clone();
            int flips = 1 + random.Next(4);
            for (int f = 0; f < flips; f++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            File.WriteAllBytes(path, bytes);
            FuzzCheck.OpensOrRejects(() => PyTorchCheckpoint.Open(path));
        }
    }

    [Fact]
    public void FlippedPickleBytesGiveAValidCheckpointOrAFormatError()
    {
        // Aim at the pickle alone, where the unpickler's decisions are.
        byte[] pickle = TestCheckpoints.Pickle();
        var random = new Random(99);
        string path = Path.Combine(_dir, "pkl.ckpt");
        for (int variant = 0; variant < 400; variant++)
        {
            byte[] bytes = (byte[])pickle.Clone();
            int flips = 1 + random.Next(3);
            for (int f = 0; f < flips; f++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            File.WriteAllBytes(path, ZipBuilder.Stored(TestCheckpoints.ZipEntries(bytes)));
            FuzzCheck.OpensOrRejects(() => PyTorchCheckpoint.Open(path));
        }
    }
}
