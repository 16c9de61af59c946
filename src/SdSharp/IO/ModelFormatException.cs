namespace SdSharp.IO;

/// <summary>
/// A model file that is not what it claims to be: truncated, corrupt, of an unknown layout, or asking for
/// something we refuse to do (a pickle global outside the allow-list). The message names the file.
/// </summary>
public sealed class ModelFormatException(string message, Exception? inner = null) : InvalidInputException(message, inner);
