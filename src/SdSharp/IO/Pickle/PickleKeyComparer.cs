using System.Numerics;

namespace SdSharp.IO.Pickle;

/// <summary>
/// Python's key equality for dicts and sets: 1, 1.0 and True are one key, tuples compare by value, and
/// lists, dicts and sets cannot be keys at all (a pickle using one is corrupt). Depth is bounded so a
/// hostile nest of tuples cannot overflow the stack.
/// </summary>
internal sealed class PickleKeyComparer : IEqualityComparer<object>
{
    private const int MaxDepth = 64;

    public static readonly PickleKeyComparer Instance = new();

    /// <summary>Stands for None, since .NET dictionaries take no null key.</summary>
    private static readonly object NoneKey = new();

    public static object Wrap(object? key)
    {
        if (key is null) return NoneKey;
        if (key is List<object?> or PickleDict or PickleSet { IsFrozen: false })
            throw new PickleException($"unhashable dict key or set item of type {PickleTypes.Name(key)}");
        return key;
    }

    public new bool Equals(object? x, object? y) => AreEqual(x, y, 0);

    public int GetHashCode(object obj) => Hash(obj, 0);

    private static bool AreEqual(object? x, object? y, int depth)
    {
        if (depth > MaxDepth) throw new PickleException("dict keys nested too deeply");
        if (ReferenceEquals(x, y)) return true;
        if (x is null || y is null) return false;
        if (TryNumber(x, out BigInteger a, out double da) && TryNumber(y, out BigInteger b, out double db))
            return x is double || y is double ? da == db : a == b;
        return (x, y) switch
        {
            (string s, string t) => string.Equals(s, t, StringComparison.Ordinal),
            (byte[] s, byte[] t) => s.AsSpan().SequenceEqual(t),
            (PickleTuple s, PickleTuple t) => s.Count == t.Count && Enumerable.Range(0, s.Count).All(i => AreEqual(s[i], t[i], depth + 1)),
            (PickleGlobal s, PickleGlobal t) => s.Module == t.Module && s.Name == t.Name,
            _ => false,
        };
    }

    private static int Hash(object? obj, int depth)
    {
        if (depth > MaxDepth) throw new PickleException("dict keys nested too deeply");
        switch (obj)
        {
            case null: return 0;
            case string s: return string.GetHashCode(s, StringComparison.Ordinal);
            case byte[] b:
                var hash = new HashCode();
                hash.AddBytes(b);
                return hash.ToHashCode();
            case PickleTuple t:
                int h = 17;
                foreach (object? item in t) h = h * 31 + Hash(item, depth + 1);
                return h;
            case PickleGlobal g: return HashCode.Combine(g.Module, g.Name);
            case List<object?> or PickleDict or PickleSet { IsFrozen: false }:
                throw new PickleException($"unhashable dict key or set item of type {PickleTypes.Name(obj)}");
        }
        if (TryNumber(obj, out BigInteger value, out double d))
            return obj is not double || IsIntegral(d) ? value.GetHashCode() : d.GetHashCode();
        return System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }

    private static bool IsIntegral(double d) => double.IsFinite(d) && Math.Floor(d) == d;

    /// <summary>Numbers as Python compares them: the integer value (for integral ones) and the float value.</summary>
    private static bool TryNumber(object x, out BigInteger integer, out double real)
    {
        switch (x)
        {
            case bool b: integer = b ? 1 : 0; real = (double)integer; return true;
            case long l: integer = l; real = l; return true;
            case BigInteger i: integer = i; real = (double)i; return true;
            case double d:
                real = d;
                integer = IsIntegral(d) ? new BigInteger(d) : BigInteger.Zero;
                return true;
            default: integer = default; real = 0; return false;
        }
    }
}
