using System.Text;

namespace SdSharp.IO.Pickle;

// What calling an allowed global does. Each is a few lines of C# standing in for the Python callable; the
// harmless data classes become inert records. Nothing from the file is ever executed.
internal sealed partial class Unpickler
{
    /// <summary>REDUCE, INST and OBJ: <c>callable(*args)</c>.</summary>
    private object? Call(object? callable, PickleTuple args)
    {
        if (callable is not PickleGlobal g) throw new PickleException($"cannot call a {PickleTypes.Name(callable)}");
        return g.Kind switch
        {
            GlobalKind.Inert => new PickleObject(g, args),
            GlobalKind.OrderedDict => NewDict(args),
            GlobalKind.Set => NewSet(args, isFrozen: false),
            GlobalKind.FrozenSet => NewSet(args, isFrozen: true),
            GlobalKind.ByteArray => NewByteArray(args),
            GlobalKind.CodecsEncode => Encode(args),
            GlobalKind.Reconstructor => Reconstruct(args),
            GlobalKind.RebuildTensor => TorchTensors.Rebuild(ArgumentsOf(g, args, 4, 4), dtype: null),
            GlobalKind.RebuildTensorV2 => TorchTensors.Rebuild(ArgumentsOf(g, args, 6, 7), dtype: null),
            GlobalKind.RebuildTensorV3 => TorchTensors.Rebuild(ArgumentsOf(g, args, 7, 8), DTypeOf(args[6])),
            GlobalKind.RebuildParameter => TensorArgument(ArgumentsOf(g, args, 3, 3)[0]),
            GlobalKind.RebuildParameterWithState => TensorArgument(ArgumentsOf(g, args, 4, 4)[0]),
            GlobalKind.Parameter => TensorArgument(ArgumentsOf(g, args, 1, 2)[0]),
            GlobalKind.RebuildFromType => RebuildFromType(ArgumentsOf(g, args, 4, 4)),
            _ => throw new PickleException($"cannot call {g.FullName}"),
        };
    }

    /// <summary>NEWOBJ and NEWOBJ_EX: <c>cls.__new__(cls, *args)</c>, then BUILD or SETITEMS fill it in.</summary>
    private object? Instantiate(object? type, PickleTuple args, PickleDict? keywords)
    {
        if (type is not PickleGlobal g) throw new PickleException($"cannot instantiate a {PickleTypes.Name(type)}");
        switch (g.Kind)
        {
            case GlobalKind.Inert: return new PickleObject(g, args) { Keywords = keywords };
            case GlobalKind.OrderedDict: return new PickleDict(isOrderedDict: true);
            case GlobalKind.Set or GlobalKind.FrozenSet or GlobalKind.ByteArray or GlobalKind.Parameter: return Call(g, args);
            default: throw new PickleException($"cannot instantiate {g.FullName}");
        }
    }

    private static PickleTuple ArgumentsOf(PickleGlobal g, PickleTuple args, int min, int max) =>
        args.Count >= min && args.Count <= max ? args
        : throw new PickleException($"{g.FullName} takes {(min == max ? $"{min}" : $"{min} to {max}")} arguments, got {args.Count}");

    private static PickleTensor TensorArgument(object? value) =>
        value as PickleTensor ?? throw new PickleException($"expected a tensor, got a {PickleTypes.Name(value)}");

    private static ElementType DTypeOf(object? value) =>
        value is PickleGlobal { Kind: GlobalKind.DType } g ? g.ElementType
        : throw new PickleException($"expected a torch dtype, got a {PickleTypes.Name(value)}");

    /// <summary>torch._tensor._rebuild_from_type_v2(func, new_type, args, state): a tensor with Python attributes.</summary>
    private object? RebuildFromType(PickleTuple args)
    {
        if (args[1] is not PickleGlobal { FullName: "torch.Tensor" or "torch.nn.parameter.Parameter" })
            throw new PickleException($"tensor subclass {PickleTypes.Name(args[1])} is not supported");
        if (args[2] is not PickleTuple inner) throw new PickleException("_rebuild_from_type_v2 arguments are not a tuple");
        return TensorArgument(Call(args[0], inner));
    }

    /// <summary>OrderedDict() or OrderedDict(pairs).</summary>
    private static PickleDict NewDict(PickleTuple args)
    {
        var dict = new PickleDict(isOrderedDict: true);
        if (args.Count > 1) throw new PickleException("OrderedDict takes at most one argument");
        if (args.Count == 1)
            foreach (object? pair in Items(args[0]))
            {
                if (pair is not (PickleTuple or List<object?>) || ((IReadOnlyList<object?>)pair).Count != 2)
                    throw new PickleException("OrderedDict items must be pairs");
                var kv = (IReadOnlyList<object?>)pair;
                dict.Set(kv[0], kv[1]);
            }
        return dict;
    }

    private static PickleSet NewSet(PickleTuple args, bool isFrozen)
    {
        var set = new PickleSet(isFrozen);
        if (args.Count > 1) throw new PickleException("set takes at most one argument");
        if (args.Count == 1) foreach (object? item in Items(args[0])) set.Add(item);
        return set;
    }

    private static IEnumerable<object?> Items(object? iterable) => iterable switch
    {
        List<object?> list => list,
        PickleTuple tuple => tuple,
        PickleSet set => set,
        _ => throw new PickleException($"expected a list or tuple, got a {PickleTypes.Name(iterable)}"),
    };

    /// <summary>bytearray(), bytearray(bytes) or bytearray(str, encoding).</summary>
    private static byte[] NewByteArray(PickleTuple args) => args.Count switch
    {
        0 => [],
        1 when args[0] is byte[] bytes => bytes,
        1 when args[0] is List<object?> list => [.. list.Select(x => x is long b and >= 0 and <= 255 ? (byte)b : throw new PickleException("bytearray item out of range"))],
        2 => Encode(args),
        _ => throw new PickleException("unsupported bytearray arguments"),
    };

    /// <summary>_codecs.encode(str, encoding): Python 3 pickles bytes this way under protocol 2.</summary>
    private static byte[] Encode(PickleTuple args)
    {
        if (args.Count is < 1 or > 3 || args[0] is not string text) throw new PickleException("_codecs.encode needs a string");
        string encoding = args.Count > 1 ? args[1] as string ?? throw new PickleException("encoding is not a string") : "utf-8";
        switch (encoding.ToLowerInvariant().Replace('_', '-'))
        {
            case "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" or "l1":
                var bytes = new byte[text.Length];
                for (int i = 0; i < text.Length; i++)
                    bytes[i] = text[i] <= 0xFF ? (byte)text[i] : throw new PickleException("text is not Latin-1");
                return bytes;
            case "ascii" or "us-ascii":
                foreach (char c in text) if (c > 0x7F) throw new PickleException("text is not ASCII");
                return Encoding.ASCII.GetBytes(text);
            case "utf-8" or "utf8":
                return PickleText.Utf8.GetBytes(text);
            default:
                throw new PickleException($"unsupported encoding {FormatErrors.Quote(encoding)}");
        }
    }

    /// <summary>copyreg._reconstructor(cls, base, state): how protocols 0 and 1 pickle plain objects.</summary>
    private object? Reconstruct(PickleTuple args)
    {
        if (args.Count != 3) throw new PickleException("copyreg._reconstructor takes 3 arguments");
        object? result = Instantiate(args[0], PickleTuple.Empty, null);
        if (args[2] != null && result is PickleObject o) o.State = args[2];
        return result;
    }
}
