using System.Buffers.Binary;
using System.Numerics;

namespace SdSharp.IO.Pickle;

/// <summary>
/// A restricted unpickler for pickle protocols 0 to 5. It implements the pickle virtual machine (stack, marks,
/// memo) over bytes that are never trusted: every length is checked against the data before anything is
/// allocated, nothing recurses, and globals go through <see cref="PickleGlobals"/>, which only knows names and
/// never runs anything. One instance reads one pickle (each has its own memo).
/// </summary>
internal sealed unsafe partial class Unpickler
{
    /// <summary>Python ints in checkpoints are small; a huge LONG1/LONG4 is hostile.</summary>
    private const int MaxLongBytes = 1024;

    private readonly string _path;
    private readonly byte* _data;
    private readonly long _length;
    private readonly Func<object?, object?>? _persistentLoad;
    private readonly Dictionary<long, object?> _memo = [];
    private readonly Stack<List<object?>> _metastack = new();
    private List<object?> _stack = [];
    private long _position;

    /// <param name="path">The file, for error messages.</param>
    /// <param name="data">The bytes holding the pickle (the pickle may end before them).</param>
    /// <param name="start">Where the pickle starts.</param>
    /// <param name="persistentLoad">Resolves persistent ids (torch storages); null refuses them.</param>
    public Unpickler(string path, byte* data, long length, long start, Func<object?, object?>? persistentLoad)
    {
        _path = path;
        _data = data;
        _length = length;
        _position = start;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Where the next byte after the pickle's STOP is, once <see cref="Load"/> returned.</summary>
    public long Position => _position;

    /// <summary>Runs the pickle to its STOP opcode and returns the value it built.</summary>
    public object? Load()
    {
        long opStart = _position;
        try
        {
            while (true)
            {
                opStart = _position;
                byte op = ReadByte();
                if (op == (byte)'.') return Pop();
                Execute(op);
            }
        }
        catch (PickleException e)
        {
            throw FormatErrors.At(_path, $"{e.Message} (pickle opcode at byte {opStart})");
        }
    }

    private void Execute(byte op)
    {
        switch (op)
        {
            // Framing and protocol.
            case 0x80:
                byte protocol = ReadByte();
                if (protocol > 5) throw new PickleException($"unsupported pickle protocol {protocol}");
                break;
            case 0x95: ReadUInt64(); break; // FRAME: only a read-ahead hint

            // Stack manipulation.
            case (byte)'(': _metastack.Push(_stack); _stack = []; break;
            case (byte)'0':
                if (_stack.Count > 0) _stack.RemoveAt(_stack.Count - 1);
                else PopMark();
                break;
            case (byte)'1': PopMark(); break;
            case (byte)'2': Push(Top()); break;

            // Constants and numbers.
            case (byte)'N': Push(null); break;
            case 0x88: Push(true); break;
            case 0x89: Push(false); break;
            case (byte)'I':
                string intText = PickleText.DecodeAscii(ReadLine());
                Push(intText switch { "00" => false, "01" => true, _ => PickleText.ParseInteger(intText) });
                break;
            case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4))); break;
            case (byte)'K': Push((long)ReadByte()); break;
            case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2))); break;
            case (byte)'L': Push(PickleText.ParseInteger(PickleText.DecodeAscii(ReadLine()).TrimEnd('L'))); break;
            case 0x8a: Push(ReadLong(ReadByte())); break;
            case 0x8b: Push(ReadLong(ReadLength(BinaryPrimitives.ReadInt32LittleEndian(Read(4))))); break;
            case (byte)'F': Push(PickleText.ParseFloat(PickleText.DecodeAscii(ReadLine()))); break;
            case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8))); break;

            // Strings and bytes.
            case (byte)'S': Push(PickleText.DecodeUtf8(PickleText.UnquoteString(ReadLine()))); break;
            case (byte)'T': Push(PickleText.DecodeUtf8(Read(ReadLength(BinaryPrimitives.ReadInt32LittleEndian(Read(4)))))); break;
            case (byte)'U': Push(PickleText.DecodeUtf8(Read(ReadByte()))); break;
            case (byte)'V': Push(PickleText.RawUnicodeEscape(ReadLine())); break;
            case (byte)'X': Push(PickleText.DecodeUtf8(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))))); break;
            case 0x8c: Push(PickleText.DecodeUtf8(Read(ReadByte()))); break;
            case 0x8d: Push(PickleText.DecodeUtf8(Read(ReadUInt64()))); break;
            case (byte)'B': Push(Read(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))).ToArray()); break;
            case (byte)'C': Push(Read(ReadByte()).ToArray()); break;
            case 0x8e: Push(Read(ReadUInt64()).ToArray()); break;
            case 0x96: Push(Read(ReadUInt64()).ToArray()); break; // BYTEARRAY8
            case 0x97: throw new PickleException("out-of-band pickle buffers are not supported");
            case 0x98: break; // READONLY_BUFFER: marks the top buffer read-only, which all of ours are

            // Containers.
            case (byte)']': Push(new List<object?>()); break;
            case (byte)'l': Push(PopMark()); break;
            case (byte)'a': Append(Pop()); break;
            case (byte)'e': foreach (object? item in PopMark()) Append(item); break;
            case (byte)')': Push(PickleTuple.Empty); break;
            case (byte)'t': Push(new PickleTuple([.. PopMark()])); break;
            case 0x85: Push(new PickleTuple([Pop()])); break;
            case 0x86: { object? b = Pop(), a = Pop(); Push(new PickleTuple([a, b])); break; }
            case 0x87: { object? c = Pop(), b = Pop(), a = Pop(); Push(new PickleTuple([a, b, c])); break; }
            case (byte)'}': Push(new PickleDict()); break;
            case (byte)'d': { var dict = new PickleDict(); SetItems(dict, PopMark()); Push(dict); break; }
            case (byte)'s': { object? value = Pop(), key = Pop(); SetItems(TargetDict(), [key, value]); break; }
            case (byte)'u': { List<object?> items = PopMark(); SetItems(TargetDict(), items); break; }
            case 0x8f: Push(new PickleSet(isFrozen: false)); break;
            case 0x90:
            {
                List<object?> items = PopMark();
                if (Top() is not PickleSet { IsFrozen: false } set) throw new PickleException($"ADDITEMS on a {PickleTypes.Name(Top())}");
                foreach (object? item in items) set.Add(item);
                break;
            }
            case 0x91:
            {
                var set = new PickleSet(isFrozen: true);
                foreach (object? item in PopMark()) set.Add(item);
                Push(set);
                break;
            }

            // The memo.
            case (byte)'g': Push(MemoGet(MemoKey(ReadLine()))); break;
            case (byte)'h': Push(MemoGet(ReadByte())); break;
            case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))); break;
            case (byte)'p': _memo[MemoKey(ReadLine())] = Top(); break;
            case (byte)'q': _memo[ReadByte()] = Top(); break;
            case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Read(4))] = Top(); break;
            case 0x94: _memo[_memo.Count] = Top(); break;

            // Globals, calls and objects.
            case (byte)'c':
            {
                string module = PickleText.DecodeUtf8(ReadLine());
                Push(PickleGlobals.Resolve(module, PickleText.DecodeUtf8(ReadLine())));
                break;
            }
            case 0x93:
            {
                object? name = Pop(), module = Pop();
                if (module is not string m || name is not string n) throw new PickleException("STACK_GLOBAL needs two strings");
                Push(PickleGlobals.Resolve(m, n));
                break;
            }
            case (byte)'R': { PickleTuple args = PopTuple("REDUCE"); Push(Call(Pop(), args)); break; }
            case 0x81: { PickleTuple args = PopTuple("NEWOBJ"); Push(Instantiate(Pop(), args, null)); break; }
            case 0x92:
            {
                if (Pop() is not PickleDict kwargs) throw new PickleException("NEWOBJ_EX keywords are not a dict");
                PickleTuple args = PopTuple("NEWOBJ_EX");
                Push(Instantiate(Pop(), args, kwargs));
                break;
            }
            case (byte)'i':
            {
                string module = PickleText.DecodeUtf8(ReadLine());
                PickleGlobal type = PickleGlobals.Resolve(module, PickleText.DecodeUtf8(ReadLine()));
                Push(Call(type, new PickleTuple([.. PopMark()])));
                break;
            }
            case (byte)'o':
            {
                List<object?> items = PopMark();
                if (items.Count == 0) throw new PickleException("OBJ without a class");
                Push(Call(items[0], new PickleTuple([.. items.Skip(1)])));
                break;
            }
            case (byte)'b': Build(Pop()); break;
            case 0x82 or 0x83 or 0x84: throw new PickleException("pickle extension codes (EXT1/2/4) are not supported");

            // Persistent ids: torch's storages.
            case (byte)'P': Push(PersistentLoad(PickleText.DecodeAscii(ReadLine()))); break;
            case (byte)'Q': Push(PersistentLoad(Pop())); break;

            default: throw new PickleException($"unknown pickle opcode 0x{op:X2}");
        }
    }

    private object? PersistentLoad(object? id) =>
        _persistentLoad == null ? throw new PickleException("persistent id where none is expected") : _persistentLoad(id);

    // ---- stack ----

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        if (_stack.Count == 0) throw new PickleException("stack underflow");
        object? value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object? Top() => _stack.Count > 0 ? _stack[^1] : throw new PickleException("stack underflow");

    /// <summary>The items pushed since the last MARK, which is removed (Python keeps marks as a stack of stacks).</summary>
    private List<object?> PopMark()
    {
        if (!_metastack.TryPop(out List<object?>? previous)) throw new PickleException("MARK missing");
        List<object?> items = _stack;
        _stack = previous;
        return items;
    }

    private PickleTuple PopTuple(string opcode) =>
        Pop() as PickleTuple ?? throw new PickleException($"{opcode} arguments are not a tuple");

    // ---- containers ----

    private void Append(object? item)
    {
        if (Top() is not List<object?> list) throw new PickleException($"cannot append to a {PickleTypes.Name(Top())}");
        list.Add(item);
    }

    private PickleDict TargetDict() =>
        Top() as PickleDict ?? throw new PickleException($"cannot set items of a {PickleTypes.Name(Top())}");

    private static void SetItems(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw new PickleException("odd number of dict items");
        for (int i = 0; i < items.Count; i += 2) dict.Set(items[i], items[i + 1]);
    }

    private void Build(object? state)
    {
        switch (Top())
        {
            case PickleObject o: o.State = state; break;
            case PickleDict d: d.State = state; break;
            default: throw new PickleException($"cannot set the state of a {PickleTypes.Name(Top())}");
        }
    }

    // ---- memo ----

    private static long MemoKey(ReadOnlySpan<byte> line)
    {
        object key = PickleText.ParseInteger(PickleText.DecodeAscii(line));
        return key is long k && k >= 0 ? k : throw new PickleException("bad memo key");
    }

    private object? MemoGet(long key) =>
        _memo.TryGetValue(key, out object? value) ? value : throw new PickleException($"memo key {key} missing");

    // ---- reading ----

    private byte ReadByte()
    {
        if (_position >= _length) throw new PickleException("pickle data ends early");
        return _data[_position++];
    }

    private ReadOnlySpan<byte> Read(long count)
    {
        if (count < 0 || count > _length - _position || count > Array.MaxLength)
            throw new PickleException($"pickle claims {count} bytes where {_length - _position} remain");
        var span = new ReadOnlySpan<byte>(_data + _position, (int)count);
        _position += count;
        return span;
    }

    private long ReadUInt64()
    {
        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(Read(8));
        return value > long.MaxValue ? throw new PickleException($"length {value} is out of range") : (long)value;
    }

    private static long ReadLength(int value) => value >= 0 ? value : throw new PickleException($"negative length {value}");

    /// <summary>A line of a protocol-0 argument, without its newline.</summary>
    private ReadOnlySpan<byte> ReadLine()
    {
        var rest = new ReadOnlySpan<byte>(_data + _position, (int)Math.Min(_length - _position, Array.MaxLength));
        int newline = rest.IndexOf((byte)'\n');
        if (newline < 0) throw new PickleException("pickle data ends inside a line");
        _position += newline + 1;
        return rest[..newline];
    }

    /// <summary>LONG1/LONG4: little-endian two's complement.</summary>
    private object ReadLong(long count)
    {
        if (count > MaxLongBytes) throw new PickleException($"integer of {count} bytes is too long");
        return PickleText.Normalize(new BigInteger(Read(count), isUnsigned: false, isBigEndian: false));
    }
}
