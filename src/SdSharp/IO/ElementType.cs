namespace SdSharp.IO;

/// <summary>Element types found in model files: a superset of what the backends compute in.</summary>
public enum ElementType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool }

public static class ElementTypeInfo
{
    public static int Size(this ElementType type) => type switch
    {
        ElementType.F64 or ElementType.I64 => 8,
        ElementType.F32 or ElementType.I32 => 4,
        ElementType.F16 or ElementType.BF16 or ElementType.I16 => 2,
        _ => 1,
    };

    public static bool IsFloat(this ElementType type) =>
        type is ElementType.F64 or ElementType.F32 or ElementType.F16 or ElementType.BF16;

    /// <summary>The dtype names safetensors headers use ("F32", "BF16", ...).</summary>
    public static string SafetensorsName(this ElementType type) => type switch
    {
        ElementType.Bool => "BOOL",
        _ => type.ToString(),
    };

    public static bool TryParseSafetensorsName(string name, out ElementType type)
    {
        switch (name)
        {
            case "F64": type = ElementType.F64; return true;
            case "F32": type = ElementType.F32; return true;
            case "F16": type = ElementType.F16; return true;
            case "BF16": type = ElementType.BF16; return true;
            case "I64": type = ElementType.I64; return true;
            case "I32": type = ElementType.I32; return true;
            case "I16": type = ElementType.I16; return true;
            case "I8": type = ElementType.I8; return true;
            case "U8": type = ElementType.U8; return true;
            case "BOOL": type = ElementType.Bool; return true;
            default: type = default; return false;
        }
    }
}
