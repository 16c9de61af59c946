namespace SdSharp.Tensors;

/// <summary>Element types the backends compute with. The CPU computes in F32; the GPU in F16 or BF16.</summary>
public enum DType { F32, F16, BF16 }

public static class DTypeInfo
{
    public static int Size(this DType type) => type == DType.F32 ? 4 : 2;

    public static DType Parse(string name) => name.ToLowerInvariant() switch
    {
        "fp32" or "f32" or "float32" => DType.F32,
        "fp16" or "f16" or "float16" or "half" => DType.F16,
        "bf16" or "bfloat16" => DType.BF16,
        _ => throw new InvalidInputException($"Unknown precision '{name}': expected fp32, fp16 or bf16."),
    };
}
