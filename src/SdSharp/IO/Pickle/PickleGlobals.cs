namespace SdSharp.IO.Pickle;

/// <summary>What an allowed global is, which decides what calling it does.</summary>
internal enum GlobalKind
{
    /// <summary>A constant or type used only as a value (torch.float32, torch.Tensor, builtins.object).</summary>
    Marker,
    /// <summary>A harmless class or function whose calls become inert <see cref="PickleObject"/> records.</summary>
    Inert,
    StorageType,
    /// <summary>A torch dtype constant (torch.float16), as _rebuild_tensor_v3 receives it.</summary>
    DType,
    OrderedDict,
    Set,
    FrozenSet,
    ByteArray,
    CodecsEncode,
    Reconstructor,
    RebuildTensor,
    RebuildTensorV2,
    RebuildTensorV3,
    RebuildParameter,
    RebuildParameterWithState,
    RebuildFromType,
    Parameter,
}

/// <summary>
/// The allow-list of pickle globals. Loading a checkpoint must never run code: a pickle can name any Python
/// callable (<c>os.system</c>, <c>builtins.eval</c>), so every global outside this list is refused by name.
/// The allowed ones are implemented here in C# (torch's tensor rebuilding, OrderedDict, set, bytes), or kept
/// as inert records (the harmless classes real SD checkpoints carry, as AUTOMATIC1111's safe unpickler allows).
/// </summary>
internal static class PickleGlobals
{
    private static readonly Dictionary<(string Module, string Name), (GlobalKind Kind, ElementType Type)> Allowed = Build();

    public static PickleGlobal Resolve(string module, string name)
    {
        // Python 2 pickles name modules by their old names; torch renamed one module.
        string original = module;
        module = module switch
        {
            "__builtin__" => "builtins",
            "copy_reg" => "copyreg",
            "torch.tensor" => "torch._tensor",
            _ => module,
        };
        if (!Allowed.TryGetValue((module, name), out var entry))
        {
            if (module.StartsWith("torch", StringComparison.Ordinal) && name.EndsWith("Storage", StringComparison.Ordinal))
                throw new PickleException($"unsupported tensor storage type {FormatErrors.Clean(original)}.{FormatErrors.Clean(name)}");
            throw new PickleException($"refusing pickle global {FormatErrors.Clean(original)}.{FormatErrors.Clean(name)}");
        }
        return new PickleGlobal(module, name) { Kind = entry.Kind, ElementType = entry.Type };
    }

    private static Dictionary<(string, string), (GlobalKind, ElementType)> Build()
    {
        var d = new Dictionary<(string, string), (GlobalKind, ElementType)>();
        void Add(string module, string name, GlobalKind kind, ElementType type = default) => d[(module, name)] = (kind, type);

        Add("collections", "OrderedDict", GlobalKind.OrderedDict);
        Add("builtins", "set", GlobalKind.Set);
        Add("builtins", "frozenset", GlobalKind.FrozenSet);
        Add("builtins", "bytearray", GlobalKind.ByteArray);
        Add("builtins", "object", GlobalKind.Marker);
        Add("_codecs", "encode", GlobalKind.CodecsEncode); // how protocol 2 pickles bytes under Python 3
        Add("copyreg", "_reconstructor", GlobalKind.Reconstructor);

        Add("torch._utils", "_rebuild_tensor", GlobalKind.RebuildTensor);
        Add("torch._utils", "_rebuild_tensor_v2", GlobalKind.RebuildTensorV2);
        Add("torch._utils", "_rebuild_tensor_v3", GlobalKind.RebuildTensorV3);
        Add("torch._utils", "_rebuild_parameter", GlobalKind.RebuildParameter);
        Add("torch._utils", "_rebuild_parameter_with_state", GlobalKind.RebuildParameterWithState);
        Add("torch._tensor", "_rebuild_from_type_v2", GlobalKind.RebuildFromType);
        Add("torch.nn.parameter", "Parameter", GlobalKind.Parameter);
        Add("torch", "Tensor", GlobalKind.Marker);

        foreach (string module in new[] { "torch", "torch.cuda" })
        {
            Add(module, "DoubleStorage", GlobalKind.StorageType, ElementType.F64);
            Add(module, "FloatStorage", GlobalKind.StorageType, ElementType.F32);
            Add(module, "HalfStorage", GlobalKind.StorageType, ElementType.F16);
            Add(module, "BFloat16Storage", GlobalKind.StorageType, ElementType.BF16);
            Add(module, "LongStorage", GlobalKind.StorageType, ElementType.I64);
            Add(module, "IntStorage", GlobalKind.StorageType, ElementType.I32);
            Add(module, "ShortStorage", GlobalKind.StorageType, ElementType.I16);
            Add(module, "CharStorage", GlobalKind.StorageType, ElementType.I8);
            Add(module, "ByteStorage", GlobalKind.StorageType, ElementType.U8);
            Add(module, "BoolStorage", GlobalKind.StorageType, ElementType.Bool);
        }
        // Untyped storages hold bytes; torch pickles them under both names.
        Add("torch", "UntypedStorage", GlobalKind.StorageType, ElementType.U8);
        Add("torch.storage", "UntypedStorage", GlobalKind.StorageType, ElementType.U8);

        foreach (var (name, type) in new[]
        {
            ("float64", ElementType.F64), ("double", ElementType.F64), ("float32", ElementType.F32), ("float", ElementType.F32),
            ("float16", ElementType.F16), ("half", ElementType.F16), ("bfloat16", ElementType.BF16),
            ("int64", ElementType.I64), ("long", ElementType.I64), ("int32", ElementType.I32), ("int", ElementType.I32),
            ("int16", ElementType.I16), ("short", ElementType.I16), ("int8", ElementType.I8), ("uint8", ElementType.U8),
            ("bool", ElementType.Bool),
        })
            Add("torch", name, GlobalKind.DType, type);

        // Harmless data classes found in real checkpoints (Lightning training state, numpy scalars).
        Add("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint", GlobalKind.Inert);
        Add("torch.torch_version", "TorchVersion", GlobalKind.Inert);
        Add("torch.nn.modules.container", "ParameterDict", GlobalKind.Inert);
        Add("torch", "device", GlobalKind.Inert);
        Add("numpy", "dtype", GlobalKind.Inert);
        Add("numpy", "ndarray", GlobalKind.Inert);
        foreach (string module in new[] { "numpy.core.multiarray", "numpy._core.multiarray" })
        {
            Add(module, "scalar", GlobalKind.Inert);
            Add(module, "_reconstruct", GlobalKind.Inert);
        }
        return d;
    }
}
