namespace SdSharp.Imaging;

/// <summary>
/// A PNG we cannot or will not decode: not a PNG, truncated, corrupt, or over a safety limit. The message is one
/// line and starts with the file's name ("in.png: CRC mismatch in chunk tEXt").
/// </summary>
public sealed class PngFormatException(string message, Exception? inner = null) : InvalidInputException(message, inner);
