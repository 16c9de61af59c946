namespace SdSharp.Tensors;

/// <summary>
/// A network call recorded once and replayed (CUDA graphs): the same ops on the same shapes with new input
/// values, without the host issuing each op again. Made by <see cref="IBackend.CreateReplayCache"/>, one per network.
/// </summary>
public interface IReplayCache : IDisposable
{
    /// <summary>
    /// <paramref name="body"/>(<paramref name="inputs"/>), possibly replayed from a recording of an earlier call
    /// with the same <paramref name="shape"/> and <paramref name="state"/>. The key must name everything that
    /// decides which ops the body runs on which tensors except the input values: the input shapes in
    /// <paramref name="shape"/>; weights, modes and settings of the network in <paramref name="state"/> (a
    /// recording of the same shape with another state is dropped). The body must not keep tensors it makes
    /// beyond the call, nor read values back to the host. Returns a new tensor the caller owns.
    /// </summary>
    Tensor Run(string shape, string state, IReadOnlyList<Tensor?> inputs, Func<IReadOnlyList<Tensor?>, Tensor> body);
}
