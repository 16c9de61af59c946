using System.Numerics;
using System.Text;
using SdSharp.IO;
using SdSharp.IO.Pickle;

namespace SdSharp.Tests.IO;

public sealed unsafe class UnpicklerTests
{
    private static object? Load(byte[] pickle, Func<object?, object?>? persistentLoad = null)
    {
        fixed (byte* p = pickle)
            return new Unpickler("test.pkl", p, pickle.Length, 0, persistentLoad).Load();
    }

    private static ModelFormatException Rejects(byte[] pickle) => Assert.Throws<ModelFormatException>(() => Load(pickle));

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    [Fact]
    public void ReadsProtocolZeroText()
    {
        // pickle.dumps({'a': 1, 'b': [1.5, 12345678901234567890, True, 'x\u00e9'], 'c': (None,)}, protocol=0)
        byte[] pickle = Latin1("(dp0\nVa\np1\nI1\nsVb\np2\n(lp3\nF1.5\naL12345678901234567890L\naI01\naVx\u00e9\np4\nasVc\np5\n(Ntp6\ns.");
        var root = Assert.IsType<PickleDict>(Load(pickle));
        Assert.False(root.IsOrderedDict);
        Assert.Equal(["a", "b", "c"], root.Keys);
        Assert.Equal(1L, root.Get("a"));
        var list = Assert.IsType<List<object?>>(root.Get("b"));
        Assert.Equal(1.5, list[0]);
        Assert.Equal(BigInteger.Parse("12345678901234567890"), list[1]);
        Assert.Equal(true, list[2]);
        Assert.Equal("xé", list[3]);
        var tuple = Assert.IsType<PickleTuple>(root.Get("c"));
        Assert.Null(Assert.Single(tuple));
    }

    [Fact]
    public void ReadsProtocolZeroStringsAndEscapes()
    {
        // Python 2 style: S'...' with escapes, and V with raw-unicode-escape.
        byte[] pickle = Latin1("(S'a\\'b\\n\\x41\\101'\nVx\\u00e9\\U0001F600\\\\\ntp0\n.");
        var tuple = Assert.IsType<PickleTuple>(Load(pickle));
        Assert.Equal("a'b\nAA", tuple[0]);
        Assert.Equal("xé\U0001F600\\\\", tuple[1]);
    }

    [Fact]
    public void ReadsBinaryOpcodesOfProtocolsTwoToFive()
    {
        var p = new PickleBuilder().Proto(5).Raw(0x95).Raw(new byte[8]) // FRAME
            .EmptyList().Memoize()
            .Mark()
            .Int(-5).Int(300).Int(70000).Int(-(1L << 40)).Raw(0x8b, 2, 0, 0, 0, 0x01, 0x80) // LONG4: -32767
            .Float(-0.25).Bool(true).None()
            .Bytes([1, 2]).Raw(0x8e, 1, 0, 0, 0, 0, 0, 0, 0, 9).Raw(0x96, 1, 0, 0, 0, 0, 0, 0, 0, 8).Raw(0x98)
            .Raw(0x8d, 1, 0, 0, 0, 0, 0, 0, 0, (byte)'z')
            .EmptyTuple().Str("one").Tuple1().Int(1).Int(2).Tuple2().Int(1).Int(2).Int(3).Tuple3()
            .Raw(0x8f).Mark().Int(1).Int(1).Int(2).Raw(0x90) // set {1, 2}
            .Mark().Str("f").Raw(0x91) // frozenset
            .BinGet(0) // the list itself (a cycle)
            .Appends().Stop();
        var list = Assert.IsType<List<object?>>(Load(p.ToArray()));
        Assert.Equal(-5L, list[0]);
        Assert.Equal(300L, list[1]);
        Assert.Equal(70000L, list[2]);
        Assert.Equal(-(1L << 40), list[3]);
        Assert.Equal(-32767L, list[4]);
        Assert.Equal(-0.25, list[5]);
        Assert.Equal(true, list[6]);
        Assert.Null(list[7]);
        Assert.Equal(new byte[] { 1, 2 }, list[8]);
        Assert.Equal(new byte[] { 9 }, list[9]);
        Assert.Equal(new byte[] { 8 }, list[10]);
        Assert.Equal("z", list[11]);
        Assert.Empty(Assert.IsType<PickleTuple>(list[12]));
        Assert.Equal(["one"], Assert.IsType<PickleTuple>(list[13]));
        Assert.Equal([1L, 2L], Assert.IsType<PickleTuple>(list[14]));
        Assert.Equal(3, Assert.IsType<PickleTuple>(list[15]).Count);
        var set = Assert.IsType<PickleSet>(list[16]);
        Assert.Equal(2, set.Count);
        Assert.True(set.Contains(2L));
        Assert.True(Assert.IsType<PickleSet>(list[17]).IsFrozen);
        Assert.Same(list, list[18]);
    }

    [Fact]
    public void StackOpsAndMemoBehaveLikePython()
    {
        // [x, x] where x is memoized; DUP, POP and POP_MARK leave the stack as Python would.
        var p = new PickleBuilder().Proto(2).EmptyList().Str("x").BinPut(7).Append()
            .BinGet(7).Append()
            .Int(1).Dup().Pop().Pop()
            .Mark().Int(9).Raw((byte)'1')
            .Stop();
        var list = Assert.IsType<List<object?>>(Load(p.ToArray()));
        Assert.Equal(["x", "x"], list);
        Assert.Same(list[0], list[1]);
    }

    [Fact]
    public void DictKeysFollowPythonEquality()
    {
        // {1: 'a', True: 'b', 1.0: 'c', (1, 'x'): 'd', None: 'e'} has three keys in Python.
        var p = new PickleBuilder().Proto(2).EmptyDict().Mark()
            .Int(1).Str("a").Bool(true).Str("b").Float(1.0).Str("c")
            .Int(1).Str("x").Tuple2().Str("d").None().Str("e")
            .SetItems().Stop();
        var dict = Assert.IsType<PickleDict>(Load(p.ToArray()));
        Assert.Equal(3, dict.Count);
        Assert.True(dict.TryGetValue(1L, out object? one));
        Assert.Equal("c", one);
        Assert.True(dict.TryGetValue(new PickleTuple([1L, "x"]), out object? pair));
        Assert.Equal("d", pair);
        Assert.True(dict.TryGetValue(null, out object? none));
        Assert.Equal("e", none);
    }

    [Fact]
    public void BytesPickledThroughCodecsEncodeBecomeBytes()
    {
        // Python 3 protocol 2 writes bytes as _codecs.encode('\xff\x00', 'latin1').
        var p = new PickleBuilder().Proto(2).Global("_codecs", "encode").Str("\u00ff\u0000").Str("latin1").Tuple2().Reduce().Stop();
        Assert.Equal(new byte[] { 0xFF, 0 }, Load(p.ToArray()));
    }

    [Fact]
    public void HarmlessClassesBecomeInertRecords()
    {
        // NEWOBJ + BUILD, as a Lightning ModelCheckpoint is pickled; and numpy.dtype('f8', False, True) + BUILD.
        var p = new PickleBuilder().Proto(2).EmptyList().Mark()
            .Global("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint").EmptyTuple().NewObj()
            .EmptyDict().Str("monitor").Str("val/loss").SetItem().Build()
            .Global("numpy", "dtype").Str("f8").Bool(false).Bool(true).Tuple3().Reduce()
            .Mark().Int(3).Str("<").None().Tuple().Build()
            .Global("torch", "float16")
            .Appends().Stop();
        var list = Assert.IsType<List<object?>>(Load(p.ToArray()));
        var callback = Assert.IsType<PickleObject>(list[0]);
        Assert.Equal("pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint", callback.Type.FullName);
        Assert.Equal("val/loss", Assert.IsType<PickleDict>(callback.State).Get("monitor"));
        var dtype = Assert.IsType<PickleObject>(list[1]);
        Assert.Equal("f8", dtype.Arguments[0]);
        Assert.Equal("torch.float16", Assert.IsType<PickleGlobal>(list[2]).FullName);
    }

    [Theory]
    [InlineData("os", "system")]
    [InlineData("posix", "system")]
    [InlineData("subprocess", "Popen")]
    [InlineData("builtins", "exec")]
    [InlineData("__builtin__", "eval")]
    [InlineData("torch", "load")]
    [InlineData("numpy", "load")]
    public void RefusesEveryOtherGlobal(string module, string name)
    {
        var p = new PickleBuilder().Proto(2).Global(module, name).Str("echo pwned").Tuple1().Reduce().Stop();
        var e = Rejects(p.ToArray());
        Assert.Contains($"refusing pickle global {module}.{name}", e.Message);
        Assert.StartsWith("test.pkl: ", e.Message);
    }

    [Fact]
    public void RefusesGlobalsNamedOnTheStack()
    {
        var p = new PickleBuilder().Proto(4).StackGlobal("builtins", "eval").Str("1+1").Tuple1().Reduce().Stop();
        Assert.Contains("refusing pickle global builtins.eval", Rejects(p.ToArray()).Message);
    }

    [Fact]
    public void GlobalNamesInMessagesAreSanitized()
    {
        var p = new PickleBuilder().Proto(4).StackGlobal("evil\nmodule", new string('x', 1000)).Stop();
        string message = Rejects(p.ToArray()).Message;
        Assert.DoesNotContain('\n', message);
        Assert.True(message.Length < 400);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 2 }, "ends early")]
    [InlineData(new byte[] { 0x80, 9, (byte)'.' }, "unsupported pickle protocol 9")]
    [InlineData(new byte[] { (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { (byte)'a', (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { (byte)'K', 1, (byte)'a', (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { (byte)'K', 1, (byte)'K', 1, (byte)'a', (byte)'.' }, "cannot append to a int")]
    [InlineData(new byte[] { (byte)'t', (byte)'.' }, "MARK missing")]
    [InlineData(new byte[] { (byte)'h', 3, (byte)'.' }, "memo key 3 missing")]
    [InlineData(new byte[] { 0xFF }, "unknown pickle opcode 0xFF")]
    [InlineData(new byte[] { (byte)'(', (byte)']', (byte)'d', (byte)'.' }, "odd number")]
    [InlineData(new byte[] { (byte)'}', (byte)']', (byte)'K', 1, (byte)'s', (byte)'.' }, "unhashable")]
    [InlineData(new byte[] { 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10, (byte)'.' }, "claims")]
    [InlineData(new byte[] { (byte)'X', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'.' }, "claims")]
    [InlineData(new byte[] { 0x8b, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'.' }, "too long")]
    [InlineData(new byte[] { (byte)'T', 0xFF, 0xFF, 0xFF, 0xFF, (byte)'.' }, "negative length")]
    [InlineData(new byte[] { 0x8c, 2, 0xC3, 0x28, (byte)'.' }, "not valid UTF-8")]
    [InlineData(new byte[] { (byte)'I', (byte)'1', (byte)'x', (byte)'\n', (byte)'.' }, "bad integer")]
    [InlineData(new byte[] { (byte)'I', (byte)'1' }, "inside a line")]
    [InlineData(new byte[] { (byte)'Q', (byte)'.' }, "stack underflow")]
    [InlineData(new byte[] { (byte)'N', (byte)'Q', (byte)'.' }, "persistent id where none is expected")]
    [InlineData(new byte[] { 0x97, (byte)'.' }, "out-of-band")]
    [InlineData(new byte[] { 0x82, 1, (byte)'.' }, "extension")]
    [InlineData(new byte[] { (byte)'N', (byte)')', (byte)'R', (byte)'.' }, "cannot call a None")]
    [InlineData(new byte[] { (byte)'K', 1, (byte)'}', (byte)'b', (byte)'.' }, "cannot set the state of a int")]
    public void RejectsCorruptPickles(byte[] pickle, string fragment) => Assert.Contains(fragment, Rejects(pickle).Message);

    [Fact]
    public void DeepNestingDoesNotOverflowTheStack()
    {
        // 200k nested tuples: the machine is iterative, so this loads; using it as a dict key is refused.
        var p = new PickleBuilder().Proto(2).EmptyDict().None();
        for (int i = 0; i < 200_000; i++) p.Tuple1();
        p.Int(1).SetItem().Stop();
        Assert.Contains("nested too deeply", Rejects(p.ToArray()).Message);
    }

    [Fact]
    public void HugeMemoKeysAllocateNothing()
    {
        var p = new PickleBuilder().Proto(2).None().Raw((byte)'r', 0xFF, 0xFF, 0xFF, 0xFF).Raw((byte)'j', 0xFF, 0xFF, 0xFF, 0xFF).Stop();
        Assert.Null(Load(p.ToArray()));
    }

    [Fact]
    public void PersistentIdsGoToTheLoader()
    {
        var p = new PickleBuilder().Proto(2).Str("id").BinPersId().Stop();
        Assert.Equal("loaded id", Load(p.ToArray(), id => "loaded " + id));
        byte[] text = Latin1("Pfoo\n.");
        Assert.Equal("loaded foo", Load(text, id => "loaded " + id));
    }
}
