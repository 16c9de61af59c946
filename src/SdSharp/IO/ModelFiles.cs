using System.Text;

namespace SdSharp.IO;

public enum ModelFormat { Safetensors, PyTorchZip, PyTorchLegacy, Diffusers }

/// <summary>
/// The one entry point for model weights: tells the format from the bytes (never from the extension: a
/// ".ckpt" may be safetensors, a ".bin" may be anything) and opens it.
/// </summary>
public static class ModelFiles
{
    /// <summary>
    /// Opens a safetensors file, a PyTorch checkpoint or a diffusers folder. The result is a
    /// <see cref="SafetensorsFile"/>, <see cref="PyTorchCheckpoint"/> or <see cref="DiffusersFolder"/>.
    /// </summary>
    /// <param name="variant">For diffusers folders: prefer weights of this variant ("fp16").</param>
    public static TensorFile Open(string path, string? variant = null)
    {
        if (Directory.Exists(path)) return DiffusersFolder.Open(path, variant);
        return OpenFile(path);
    }

    /// <summary>Opens a single weights file (safetensors or PyTorch), whatever its name.</summary>
    public static TensorFile OpenFile(string path)
    {
        MappedFile file = MappedFile.Open(path);
        ModelFormat format;
        try
        {
            format = DetectFile(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        return format == ModelFormat.Safetensors ? SafetensorsFile.Open(file) : PyTorchCheckpoint.Open(file);
    }

    /// <summary>The format of a file or folder; throws <see cref="ModelFormatException"/> for anything else.</summary>
    public static ModelFormat Detect(string path)
    {
        if (Directory.Exists(path))
            return File.Exists(Path.Combine(path, DiffusersFolder.ModelIndexName)) ? ModelFormat.Diffusers
                : throw new ModelFormatException($"{path}: a folder without {DiffusersFolder.ModelIndexName}, so not a diffusers model");
        using MappedFile file = MappedFile.Open(path);
        return DetectFile(file);
    }

    public static string Describe(ModelFormat format) => format switch
    {
        ModelFormat.Safetensors => "safetensors",
        ModelFormat.PyTorchZip => "PyTorch (zip)",
        ModelFormat.PyTorchLegacy => "PyTorch (legacy)",
        _ => "diffusers",
    };

    internal static ModelFormat DetectFile(MappedFile file)
    {
        ReadOnlySpan<byte> head = file.Span(0, (int)Math.Min(file.Length, 512));
        // safetensors: a little-endian header length, then the JSON object.
        if (head.Length > 8 && head[8] == (byte)'{') return ModelFormat.Safetensors;
        // zip: a local file header, or the end record of an empty archive.
        if (head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] is 3 or 5 or 6 && head[3] is 4 or 6)
            return ModelFormat.PyTorchZip;
        if (head.Length >= 2 && head[0] == 0x80 && head[1] is >= 2 and <= 5)
            return TorchLegacyReader.HasMagic(file) ? ModelFormat.PyTorchLegacy
                : throw FormatErrors.At(file.Path, "a Python pickle, but not a PyTorch checkpoint (no torch magic number)");
        if (head.Length >= 262 && head.Slice(257, 5).SequenceEqual("ustar"u8))
            throw FormatErrors.At(file.Path, "a tar archive: PyTorch's format before 0.4, which is not supported (re-save it with a current torch)");
        if (head.StartsWith("GGUF"u8))
            throw FormatErrors.At(file.Path, "a GGUF file, which is not supported (use a safetensors or PyTorch model)");
        string start = Convert.ToHexString(head[..Math.Min(head.Length, 4)]);
        string hex = string.Join(" ", Enumerable.Range(0, start.Length / 2).Select(i => start.Substring(2 * i, 2)));
        string hint = LooksLikeText(head) ? "; it is text, perhaps an HTML page from a failed download" : "";
        throw FormatErrors.At(file.Path, $"not a safetensors, PyTorch or diffusers model (starts with {hex}){hint}");
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        int printable = 0;
        foreach (byte b in head) if (b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t') printable++;
        return head.Length >= 4 && printable == head.Length;
    }
}

/// <summary>What <c>sdsharp model inspect</c> prints about a model: format, tensor count, element types, size.</summary>
public sealed record ModelSummary(string Path, string Format, int TensorCount, IReadOnlyDictionary<ElementType, int> TensorsByType,
    long ParameterCount, long ByteCount)
{
    public static ModelSummary Of(TensorFile file)
    {
        var byType = new SortedDictionary<ElementType, int>();
        long parameters = 0, bytes = 0;
        foreach (TensorEntry t in file.Tensors)
        {
            byType[t.Type] = byType.GetValueOrDefault(t.Type) + 1;
            parameters += t.ElementCount;
            bytes += t.ByteLength;
        }
        return new ModelSummary(file.Path, file.Format, file.Tensors.Count, byType, parameters, bytes);
    }

    /// <summary>One line, e.g. "safetensors: 1131 tensors (F16 1131), 1.07 G parameters, 2.13 GB".</summary>
    public override string ToString()
    {
        var types = string.Join(", ", TensorsByType.Select(kv => $"{kv.Key.SafetensorsName()} {kv.Value}"));
        var sb = new StringBuilder();
        sb.Append(Format).Append(": ").Append(TensorCount).Append(" tensors");
        if (types.Length > 0) sb.Append(" (").Append(types).Append(')');
        sb.Append(", ").Append(Scaled(ParameterCount, "")).Append(" parameters, ").Append(Scaled(ByteCount, "B"));
        return sb.ToString();
    }

    private static string Scaled(long value, string unit) => value switch
    {
        >= 1_000_000_000 => FormattableString.Invariant($"{value / 1e9:0.##} G{unit}"),
        >= 1_000_000 => FormattableString.Invariant($"{value / 1e6:0.##} M{unit}"),
        >= 1_000 => FormattableString.Invariant($"{value / 1e3:0.##} k{unit}"),
        _ => FormattableString.Invariant($"{value}{(unit.Length > 0 ? " " + unit : "")}"),
    };
}
