using SdSharp.Tensors;

namespace SdSharp.Models.Unet;

/// <summary>
/// A change to the context an attention layer reads its keys and values from, made before the key and value
/// projections (A1111's hypernetworks). One applies only to contexts of the widths it has modules for.
/// </summary>
public interface IContextTransform
{
    bool Applies(int width);

    /// <summary>The context the keys are computed from (a new tensor the caller owns).</summary>
    Tensor Key(Tensor context);

    /// <summary>The context the values are computed from (a new tensor the caller owns).</summary>
    Tensor Value(Tensor context);
}

/// <summary>
/// The context transforms every attention layer of a UNet applies, switched per generation like
/// <see cref="Layers.Padding"/>; empty by default. As in A1111, they chain: each one sees the previous one's
/// keys and values, and self-attention (whose context is the image tokens) is included.
/// </summary>
public sealed class AttentionContext
{
    public IReadOnlyList<IContextTransform> Transforms
    {
        get => _transforms;
        set
        {
            _transforms = value;
            Version++;
        }
    }

    private IReadOnlyList<IContextTransform> _transforms = [];

    /// <summary>Changes whenever <see cref="Transforms"/> is set.</summary>
    public long Version { get; private set; }

    /// <summary>The key and value contexts for <paramref name="context"/>; new tensors go to <paramref name="owned"/>.</summary>
    internal (Tensor Key, Tensor Value) Apply(Tensor context, List<Tensor> owned)
    {
        Tensor key = context, value = context;
        int width = context.Shape[context.Shape.Rank - 1];
        foreach (IContextTransform t in Transforms)
        {
            if (!t.Applies(width)) continue;
            key = Own(t.Key(key));
            value = Own(t.Value(value));
        }
        return (key, value);

        Tensor Own(Tensor x)
        {
            owned.Add(x);
            return x;
        }
    }
}
