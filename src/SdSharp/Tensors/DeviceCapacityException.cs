namespace SdSharp.Tensors;

/// <summary>A device had no memory left for an allocation, even after giving back what it had cached.</summary>
public sealed class DeviceOutOfMemoryException(string message) : Exception(message);
