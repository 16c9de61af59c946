using SdSharp.Models.Unet;
using SdSharp.Tensors;

namespace SdSharp.Addons.Hypernetworks;

/// <summary>
/// A hypernetwork's modules on a backend, applied to attention contexts as A1111's apply_single_hypernetwork
/// does: for a context of a width the hypernetwork has modules for, the keys are computed from
/// x + k(x)·multiplier and the values from x + v(x)·multiplier. Disposing frees the device weights.
/// </summary>
public sealed class HypernetworkTransform : IContextTransform, IDisposable
{
    private readonly IBackend _backend;
    private readonly float _multiplier;
    private readonly Dictionary<int, (Module Key, Module Value)> _modules = [];
    private readonly List<Tensor> _weights = [];

    public HypernetworkTransform(IBackend backend, HypernetworkFile file, float multiplier)
    {
        _backend = backend;
        _multiplier = multiplier;
        try
        {
            foreach (var (width, (key, value)) in file.Modules) _modules[width] = (Upload(key), Upload(value));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The context widths this hypernetwork changes.</summary>
    public IReadOnlyCollection<int> Widths => _modules.Keys;

    public bool Applies(int width) => _modules.ContainsKey(width);

    public Tensor Key(Tensor context) => _modules[Width(context)].Key.Forward(_backend, context, _multiplier);

    public Tensor Value(Tensor context) => _modules[Width(context)].Value.Forward(_backend, context, _multiplier);

    private static int Width(Tensor context) => context.Shape[context.Shape.Rank - 1];

    private Module Upload(IReadOnlyList<HypernetworkLayer> layers) => new([.. layers.Select(layer => layer switch
    {
        HypernetworkLayer.Linear l => new Step(null, Load(l.Weight), Load(l.Bias), IsNorm: false),
        HypernetworkLayer.LayerNorm n => new Step(null, Load(n.Weight), Load(n.Bias), IsNorm: true),
        HypernetworkLayer.Activate a => new Step(a.Function, null, null, IsNorm: false),
        _ => throw new ArgumentException($"unknown hypernetwork layer {layer}"),
    })]);

    private Tensor Load(IO.TensorEntry entry)
    {
        Tensor t = _backend.LoadWeight(entry);
        _weights.Add(t);
        return t;
    }

    public void Dispose()
    {
        foreach (Tensor t in _weights) t.Dispose();
        _weights.Clear();
        _modules.Clear();
    }

    /// <summary>A linear layer (weight, bias), a layer norm (IsNorm) or an activation (Function).</summary>
    private sealed record Step(Activation? Function, Tensor? Weight, Tensor? Bias, bool IsNorm);

    private sealed class Module(Step[] steps)
    {
        public Tensor Forward(IBackend b, Tensor x, float multiplier)
        {
            Tensor h = x;
            try
            {
                foreach (Step s in steps)
                {
                    Tensor next = s.Function is Activation f ? b.Activate(h, f)
                        : s.IsNorm ? b.LayerNorm(h, s.Weight!, s.Bias, 1e-5f)
                        : b.Linear(h, s.Weight!, s.Bias);
                    if (h != x) h.Dispose();
                    h = next;
                }
                // x + net(x)·m; at m = 0 this is x exactly.
                return b.Axpby(1f, x, multiplier, h);
            }
            finally
            {
                if (h != x) h.Dispose();
            }
        }
    }
}
