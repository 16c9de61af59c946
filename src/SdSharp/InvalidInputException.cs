namespace SdSharp;

/// <summary>
/// An error caused by what the user gave us (a file, an option, a prompt), as opposed to a bug. Front ends
/// print the message as one line and exit with status 2; the message names the file or option at fault.
/// </summary>
public class InvalidInputException(string message, Exception? inner = null) : Exception(message, inner);
