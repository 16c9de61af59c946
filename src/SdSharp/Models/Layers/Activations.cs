using SdSharp.Tensors;

namespace SdSharp.Models.Layers;

internal static class Activations
{
    /// <summary>
    /// h = Then(h, layer.Forward): the next activation from the previous one, which is freed once the next exists
    /// or making it failed (a backend out of memory must not leak the activations that led there).
    /// </summary>
    public static Tensor Then(Tensor previous, Func<Tensor, Tensor> next)
    {
        try
        {
            return next(previous);
        }
        finally
        {
            previous.Dispose();
        }
    }
}
