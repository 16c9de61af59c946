using System.Buffers.Binary;
using System.Text;

namespace SdSharp.Tests.IO;

/// <summary>Writes pickle opcodes by hand, so tests can build exactly the pickles torch (or an attacker) writes.</summary>
internal sealed class PickleBuilder
{
    private readonly List<byte> _bytes = [];

    /// <summary>Write legacy-format persistent ids, which carry a sixth element (the storage view, None).</summary>
    public bool LegacyIds { get; init; }

    public PickleBuilder Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public PickleBuilder Raw(string latin1) => Raw(Encoding.Latin1.GetBytes(latin1));

    public PickleBuilder Proto(int version = 2) => Raw(0x80, (byte)version);
    public PickleBuilder Stop() => Raw((byte)'.');
    public PickleBuilder Mark() => Raw((byte)'(');
    public PickleBuilder None() => Raw((byte)'N');
    public PickleBuilder Bool(bool value) => Raw(value ? (byte)0x88 : (byte)0x89);
    public PickleBuilder EmptyDict() => Raw((byte)'}');
    public PickleBuilder EmptyList() => Raw((byte)']');
    public PickleBuilder EmptyTuple() => Raw((byte)')');
    public PickleBuilder Tuple() => Raw((byte)'t');
    public PickleBuilder Tuple1() => Raw(0x85);
    public PickleBuilder Tuple2() => Raw(0x86);
    public PickleBuilder Tuple3() => Raw(0x87);
    public PickleBuilder List() => Raw((byte)'l');
    public PickleBuilder Append() => Raw((byte)'a');
    public PickleBuilder Appends() => Raw((byte)'e');
    public PickleBuilder SetItem() => Raw((byte)'s');
    public PickleBuilder SetItems() => Raw((byte)'u');
    public PickleBuilder Reduce() => Raw((byte)'R');
    public PickleBuilder Build() => Raw((byte)'b');
    public PickleBuilder NewObj() => Raw(0x81);
    public PickleBuilder BinPersId() => Raw((byte)'Q');
    public PickleBuilder Dup() => Raw((byte)'2');
    public PickleBuilder Pop() => Raw((byte)'0');
    public PickleBuilder Memoize() => Raw(0x94);
    public PickleBuilder BinPut(byte index) => Raw((byte)'q', index);
    public PickleBuilder BinGet(byte index) => Raw((byte)'h', index);

    public PickleBuilder Int(long value)
    {
        if (value is >= 0 and < 256) return Raw((byte)'K', (byte)value);
        if (value is >= 0 and < 65536) return Raw((byte)'M', (byte)value, (byte)(value >> 8));
        if (value is >= int.MinValue and <= int.MaxValue)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)value);
            return Raw((byte)'J').Raw(b);
        }
        byte[] big = new System.Numerics.BigInteger(value).ToByteArray();
        return Raw(0x8a, (byte)big.Length).Raw(big);
    }

    public PickleBuilder Float(double value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(b, value);
        return Raw((byte)'G').Raw(b);
    }

    public PickleBuilder Str(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        if (utf8.Length < 256) return Raw(0x8c, (byte)utf8.Length).Raw(utf8);
        var n = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(n, (uint)utf8.Length);
        return Raw((byte)'X').Raw(n).Raw(utf8);
    }

    public PickleBuilder Bytes(byte[] value) => Raw((byte)'C', (byte)value.Length).Raw(value);

    /// <summary>GLOBAL: "c module\n name\n", as protocols 0 to 3 write it.</summary>
    public PickleBuilder Global(string module, string name) => Raw((byte)'c').Raw($"{module}\n{name}\n");

    /// <summary>STACK_GLOBAL (protocol 4): module and name as strings on the stack.</summary>
    public PickleBuilder StackGlobal(string module, string name) => Str(module).Str(name).Raw(0x93);

    /// <summary>An empty OrderedDict, as torch writes the backward hooks.</summary>
    public PickleBuilder OrderedDict() => Global("collections", "OrderedDict").EmptyTuple().Reduce();

    /// <summary>torch._utils._rebuild_tensor_v2(('storage', cls, key, 'cpu', numel), offset, size, stride, False, OrderedDict()).</summary>
    public PickleBuilder Tensor(string storageClass, string key, long numel, long offset, long[] shape, long[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        Mark();
        Mark().Str("storage").Global("torch", storageClass).Str(key).Str("cpu").Int(numel);
        if (LegacyIds) None();
        Tuple().BinPersId();
        Int(offset);
        Mark();
        foreach (long d in shape) Int(d);
        Tuple();
        Mark();
        foreach (long s in stride) Int(s);
        Tuple();
        Bool(false);
        OrderedDict();
        Tuple();
        return Reduce();
    }

    /// <summary>A contiguous tensor over a whole storage.</summary>
    public PickleBuilder Tensor(string storageClass, string key, params long[] shape)
    {
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        var stride = new long[shape.Length];
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= shape[i];
        }
        return Tensor(storageClass, key, numel, 0, shape, stride);
    }

    public byte[] ToArray() => [.. _bytes];
}
