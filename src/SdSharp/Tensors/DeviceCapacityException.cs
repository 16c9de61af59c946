namespace SdSharp.Tensors;

/// <summary>
/// A device cannot run an op at this size: it has no memory left even after giving back what it cached, or a
/// tensor passes a size its kernels or libraries index (2³¹ elements on CUDA). Work that can be split, such as
/// the VAE's, catches it and runs in pieces.
/// </summary>
public sealed class DeviceCapacityException(string message) : Exception(message);
