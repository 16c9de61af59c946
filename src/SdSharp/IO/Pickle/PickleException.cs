namespace SdSharp.IO.Pickle;

/// <summary>
/// A pickle that is corrupt or asks for something refused. Thrown inside the unpickler, which does not know
/// the file; the reader turns it into a <see cref="ModelFormatException"/> that names the file.
/// </summary>
internal sealed class PickleException(string message) : Exception(message);

/// <summary>Python-style type names for messages.</summary>
internal static class PickleTypes
{
    public static string Name(object? value) => value switch
    {
        null => "None",
        bool => "bool",
        long or System.Numerics.BigInteger => "int",
        double => "float",
        string => "str",
        byte[] => "bytes",
        List<object?> => "list",
        PickleTuple => "tuple",
        PickleDict d => d.IsOrderedDict ? "OrderedDict" : "dict",
        PickleSet s => s.IsFrozen ? "frozenset" : "set",
        PickleGlobal g => g.FullName,
        PickleObject o => o.Type.FullName,
        PickleStorage => "storage",
        PickleTensor => "tensor",
        _ => value.GetType().Name,
    };
}
