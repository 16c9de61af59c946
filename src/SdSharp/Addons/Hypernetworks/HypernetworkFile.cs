using System.Globalization;
using System.Numerics;
using SdSharp.IO;
using SdSharp.IO.Pickle;
using SdSharp.Tensors;

namespace SdSharp.Addons.Hypernetworks;

/// <summary>One layer of a hypernetwork module, in the order A1111's Sequential runs them.</summary>
public abstract record HypernetworkLayer
{
    /// <summary>y = x·Wᵀ + b.</summary>
    public sealed record Linear(TensorEntry Weight, TensorEntry Bias) : HypernetworkLayer;

    /// <summary>An element-wise activation (torch.nn defaults).</summary>
    public sealed record Activate(Activation Function) : HypernetworkLayer;

    /// <summary>torch.nn.LayerNorm over the last dimension, ε = 1e-5.</summary>
    public sealed record LayerNorm(TensorEntry Weight, TensorEntry Bias) : HypernetworkLayer;
}

/// <summary>
/// An A1111 hypernetwork (.pt, torch.save of a dict): for each context width it has (int keys, e.g. 768) a pair
/// of small MLPs, one for the keys' context and one for the values', built as A1111's HypernetworkModule builds
/// them from layer_structure, activation_func, is_layer_norm, activate_output and the dropout structure (dropout
/// does nothing at inference, but it takes a place in the Sequential and so shifts the state-dict names).
/// The file stays open while the hypernetwork lives: the CPU backend reads its matrices in place.
/// </summary>
public sealed class HypernetworkFile : IDisposable
{
    private readonly PyTorchCheckpoint _file;

    private HypernetworkFile(PyTorchCheckpoint file, string name, Dictionary<int, (IReadOnlyList<HypernetworkLayer>, IReadOnlyList<HypernetworkLayer>)> modules)
    {
        _file = file;
        Name = name;
        Modules = modules;
    }

    /// <summary>The file name without extension, what a &lt;hypernet:NAME&gt; tag writes.</summary>
    public string Name { get; }

    public string FilePath => _file.Path;

    /// <summary>The keys' and the values' module for each context width.</summary>
    public IReadOnlyDictionary<int, (IReadOnlyList<HypernetworkLayer> Key, IReadOnlyList<HypernetworkLayer> Value)> Modules { get; }

    public static HypernetworkFile Open(string path)
    {
        PyTorchCheckpoint file = PyTorchCheckpoint.Open(path);
        try
        {
            return new HypernetworkFile(file, Path.GetFileNameWithoutExtension(path), Read(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Dictionary<int, (IReadOnlyList<HypernetworkLayer>, IReadOnlyList<HypernetworkLayer>)> Read(PyTorchCheckpoint file)
    {
        string path = file.Path;
        if (file.Root is not PickleDict root) throw FormatErrors.At(path, "not a hypernetwork (the file holds no dict)");
        var structure = new Structure(path, root);
        var modules = new Dictionary<int, (IReadOnlyList<HypernetworkLayer>, IReadOnlyList<HypernetworkLayer>)>();
        foreach (var (key, value) in root)
        {
            if (key is not long width) continue; // the options are under string keys
            if (width <= 0 || width > 1 << 16) throw FormatErrors.At(path, $"not a hypernetwork (a module for width {width})");
            if (value is not IReadOnlyList<object?> { Count: 2 } pair || pair[0] is not PickleDict k || pair[1] is not PickleDict v)
                throw FormatErrors.At(path, $"not a hypernetwork (width {width} does not hold two state dicts)");
            modules[(int)width] = (structure.Module(k, (int)width, "k"), structure.Module(v, (int)width, "v"));
        }
        if (modules.Count == 0) throw FormatErrors.At(path, "not a hypernetwork (no modules under integer keys such as 768)");
        return modules;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>The options that decide which layers a module has, read as A1111's Hypernetwork.load reads them.</summary>
    private sealed class Structure
    {
        private readonly string _path;
        private readonly double[] _layers;
        private readonly Activation? _activation;
        private readonly bool _layerNorm, _activateOutput;
        private readonly double[] _dropout;

        public Structure(string path, PickleDict root)
        {
            _path = path;
            _layers = Numbers(root.Get("layer_structure"), "layer_structure") ?? [1, 2, 1];
            if (_layers.Length < 2 || _layers[0] != 1 || _layers[^1] != 1 || _layers.Any(f => !(f > 0) || f > 64))
                throw FormatErrors.At(path, $"hypernetwork layer_structure [{string.Join(", ", _layers.Select(Text))}] must start and end with 1");
            _activation = ActivationOf(root.Get("activation_func"));
            _layerNorm = Flag(root, "is_layer_norm", false);
            _activateOutput = Flag(root, "activate_output", true);
            double[]? dropout = Numbers(root.Get("dropout_structure"), "dropout_structure");
            bool useDropout = dropout != null && dropout.Any(p => p != 0) || Flag(root, "use_dropout", false);
            _dropout = dropout ?? DefaultDropout(useDropout, Flag(root, "last_layer_dropout", false));
            if (_dropout.Length != _layers.Length)
                throw FormatErrors.At(path, $"hypernetwork dropout_structure has {_dropout.Length} entries for {_layers.Length} layer sizes");
        }

        /// <summary>A1111's parse_dropout_structure: 0.3 after each hidden layer but the last unless last_layer_dropout.</summary>
        private double[] DefaultDropout(bool useDropout, bool lastLayerDropout)
        {
            var p = new double[_layers.Length];
            if (!useDropout) return p;
            for (int i = 1; i < p.Length - 2; i++) p[i] = 0.3;
            if (lastLayerDropout && p.Length >= 3) p[^2] = 0.3;
            return p;
        }

        /// <summary>The layers of one module, checked against its state dict (all of it, as load_state_dict is strict).</summary>
        public List<HypernetworkLayer> Module(PickleDict stateDict, int width, string which)
        {
            string where = $"hypernetwork module {width} ({which})";
            var tensors = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            foreach (var (key, value) in stateDict)
            {
                if (key is not string name || value is not PickleTensor { Entry: TensorEntry entry })
                    throw FormatErrors.At(_path, $"{where}: the state dict holds {key} = {value}, not named tensors");
                // The first hypernetworks had two layers named linear1 and linear2 (A1111's fix_old_state_dict).
                name = name switch
                {
                    "linear1.weight" => "linear.0.weight",
                    "linear1.bias" => "linear.0.bias",
                    "linear2.weight" => "linear.1.weight",
                    "linear2.bias" => "linear.1.bias",
                    _ => name,
                };
                if (entry.Type is not (ElementType.F32 or ElementType.F16 or ElementType.BF16))
                    throw FormatErrors.AtTensor(_path, name, $"{where}: {entry.Type} is not a floating-point type");
                tensors[name] = entry;
            }
            var layers = new List<HypernetworkLayer>();
            int index = 0;
            for (int i = 0; i < _layers.Length - 1; i++)
            {
                // torch's int(dim * factor): the product in doubles, truncated.
                long inputs = (long)(width * _layers[i]), outputs = (long)(width * _layers[i + 1]);
                layers.Add(new HypernetworkLayer.Linear(Take(index, "weight", [outputs, inputs]), Take(index, "bias", [outputs])));
                index++;
                bool last = i == _layers.Length - 2;
                if (_activation is Activation a && (!last || _activateOutput))
                {
                    layers.Add(new HypernetworkLayer.Activate(a));
                    index++;
                }
                if (_layerNorm)
                {
                    layers.Add(new HypernetworkLayer.LayerNorm(Take(index, "weight", [outputs]), Take(index, "bias", [outputs])));
                    index++;
                }
                if (_dropout[i + 1] > 0) index++;
            }
            if (tensors.Count > 0)
                throw FormatErrors.At(_path, $"{where}: {string.Join(", ", tensors.Keys.Order(StringComparer.Ordinal).Take(4).Select(FormatErrors.Quote))} "
                    + $"match no layer of layer_structure [{string.Join(", ", _layers.Select(Text))}]{(_layerNorm ? " with layer norm" : "")}");
            return layers;

            TensorEntry Take(int at, string part, long[] shape)
            {
                string name = $"linear.{at}.{part}";
                if (!tensors.Remove(name, out TensorEntry? entry))
                    throw FormatErrors.At(_path, $"{where}: {FormatErrors.Quote(name)} is missing (the layers do not follow layer_structure [{string.Join(", ", _layers.Select(Text))}])");
                if (!entry.Shape.AsSpan().SequenceEqual(shape))
                    throw FormatErrors.At(_path, $"{where}: {FormatErrors.Quote(name)} is [{string.Join(", ", entry.Shape)}], expected [{string.Join(", ", shape)}]");
                return entry;
            }
        }

        private Activation? ActivationOf(object? value)
        {
            if (value == null) return null;
            if (value is not string name) throw FormatErrors.At(_path, "hypernetwork activation_func is not a string");
            return name switch
            {
                "linear" => null,
                "relu" => Activation.Relu,
                "leakyrelu" => Activation.LeakyRelu,
                "elu" or "celu" => Activation.Elu, // CELU with its default α = 1 is ELU
                "swish" or "hardswish" => Activation.Hardswish, // A1111's "swish" is torch.nn.Hardswish
                "tanh" => Activation.Tanh,
                "sigmoid" => Activation.Sigmoid,
                "gelu" => Activation.Gelu,
                "silu" => Activation.Silu,
                "mish" => Activation.Mish,
                "softplus" => Activation.Softplus,
                "softsign" => Activation.Softsign,
                "selu" => Activation.Selu,
                "relu6" => Activation.Relu6,
                "hardsigmoid" => Activation.Hardsigmoid,
                _ => throw FormatErrors.At(_path, $"hypernetwork activation_func {FormatErrors.Quote(name)} is not supported "
                    + "(linear, relu, leakyrelu, elu, celu, swish, hardswish, tanh, sigmoid, gelu, silu, mish, softplus, softsign, selu, relu6, hardsigmoid)"),
            };
        }

        private bool Flag(PickleDict root, string key, bool absent) => root.Get(key) switch
        {
            null => absent,
            bool b => b,
            var other => throw FormatErrors.At(_path, $"hypernetwork {key} is {other}, not True or False"),
        };

        private double[]? Numbers(object? value, string key)
        {
            if (value == null) return null;
            if (value is not IReadOnlyList<object?> { Count: <= 64 } list) throw FormatErrors.At(_path, $"hypernetwork {key} is not a list of numbers");
            return [.. list.Select(item => item switch
            {
                double d => d,
                long l => l,
                BigInteger or bool => throw FormatErrors.At(_path, $"hypernetwork {key} holds {item}"),
                _ => throw FormatErrors.At(_path, $"hypernetwork {key} is not a list of numbers"),
            })];
        }

        private static string Text(double d) => d.ToString("R", CultureInfo.InvariantCulture);
    }
}
