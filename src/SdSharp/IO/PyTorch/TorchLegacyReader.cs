using System.Buffers.Binary;
using SdSharp.IO.Pickle;

namespace SdSharp.IO;

/// <summary>
/// Reads torch's legacy checkpoint format (torch.save before 1.6, or with
/// <c>_use_new_zipfile_serialization=False</c>): five pickles in a row (the magic number, the protocol version
/// 1001, system info, the object with persistent ids
/// <c>('storage', storage_class, key, location, numel, view)</c>, and the list of storage keys), then each
/// storage's raw bytes in that order, each preceded by its element count as a little-endian int64. The
/// storages are used in place from the mapping.
/// </summary>
internal sealed unsafe class TorchLegacyReader
{
    private const long ProtocolVersion = 1001;

    private readonly MappedFile _file;
    private readonly Dictionary<string, PickleStorage> _roots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PickleStorage> _views = new(StringComparer.Ordinal);

    private TorchLegacyReader(MappedFile file) => _file = file;

    private string Path => _file.Path;

    public static object? Read(MappedFile file) => new TorchLegacyReader(file).Read();

    /// <summary>True when the file starts with the legacy magic-number pickle.</summary>
    public static bool HasMagic(MappedFile file)
    {
        try
        {
            object? magic = new Unpickler(file.Path, file.Pointer, Math.Min(file.Length, 64), 0, null).Load();
            return magic is System.Numerics.BigInteger m && m == TorchStorages.LegacyMagic;
        }
        catch (ModelFormatException)
        {
            return false;
        }
    }

    private object? Read()
    {
        long position = 0;
        object? Next(Func<object?, object?>? persistentLoad)
        {
            var unpickler = new Unpickler(Path, _file.Pointer, _file.Length, position, persistentLoad);
            object? value = unpickler.Load();
            position = unpickler.Position;
            return value;
        }

        if (Next(null) is not System.Numerics.BigInteger magic || magic != TorchStorages.LegacyMagic)
            throw FormatErrors.At(Path, "a pickle, but not a PyTorch checkpoint (no torch magic number)");
        object? version = Next(null);
        if (version is not ProtocolVersion) throw FormatErrors.At(Path, $"legacy PyTorch protocol version {version} is not supported");
        Next(null); // system info: endianness and C type sizes; the storages are little-endian regardless
        object? root = Next(LoadStorage);
        if (Next(null) is not List<object?> keys) throw FormatErrors.At(Path, "legacy checkpoint's storage key list is missing");

        foreach (object? item in keys)
        {
            string key = TorchStorages.Text(item) ?? throw FormatErrors.At(Path, "legacy storage key is not a string");
            if (!_roots.TryGetValue(key, out PickleStorage? storage)) throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(key)} is listed but never used");
            if (storage.Data != null) throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(key)} is listed twice");
            if (!_file.Contains(position, 8)) throw FormatErrors.At(Path, $"file ends before storage {FormatErrors.Quote(key)}");
            long count = BinaryPrimitives.ReadInt64LittleEndian(_file.Span(position, 8));
            if (count < 0 || count != storage.ByteLength / storage.ElementType.Size())
                throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(key)} holds {count} elements, its header says {storage.ByteLength / storage.ElementType.Size()}");
            if (!_file.Contains(position + 8, storage.ByteLength)) throw FormatErrors.At(Path, $"file ends inside storage {FormatErrors.Quote(key)}");
            storage.Data = _file.Pointer + position + 8;
            position += 8 + storage.ByteLength;
        }
        foreach (PickleStorage storage in _roots.Values)
            if (storage.Data == null) throw FormatErrors.At(Path, $"storage {FormatErrors.Quote(storage.Key)} has no data");
        foreach (PickleStorage view in _views.Values) view.Data = view.Base!.Data + view.BaseOffset;
        return root;
    }

    /// <summary>persistent_load for ('storage', storage_class, root_key, location, numel, view_metadata).</summary>
    private object LoadStorage(object? id)
    {
        if (id is PickleTuple { Count: > 0 } t && TorchStorages.Text(t[0]) == "module")
            throw FormatErrors.At(Path, "the checkpoint pickles a whole torch module (torch.save(model)); only state dicts can be loaded");
        if (id is not PickleTuple { Count: 6 } pid || TorchStorages.Text(pid[0]) != "storage")
            throw new PickleException("persistent id is not ('storage', type, key, location, numel, view)");
        ElementType type = TorchStorages.TypeOf(pid[1]);
        string key = TorchStorages.Text(pid[2]) ?? throw new PickleException("storage key is not a string");
        string location = TorchStorages.Text(pid[3]) ?? throw new PickleException("storage location is not a string");
        if (pid[4] is not long numel) throw new PickleException("storage size is not an int");
        if (!_roots.TryGetValue(key, out PickleStorage? root))
        {
            root = new PickleStorage(key, type, TorchStorages.Bytes(numel, type, key), location);
            _roots[key] = root;
        }
        if (pid[5] is null) return root;

        // Storage views come from torch before 0.4: (view_key, offset, size) in elements of the root.
        if (pid[5] is not PickleTuple { Count: 3 } view || TorchStorages.Text(view[0]) is not string viewKey
            || view[1] is not long offset || view[2] is not long size || offset < 0 || size < 0)
            throw new PickleException("storage view is not (key, offset, size)");
        if (_views.TryGetValue(viewKey, out PickleStorage? existing)) return existing;
        long offsetBytes = TorchStorages.Bytes(offset, root.ElementType, viewKey), sizeBytes = TorchStorages.Bytes(size, root.ElementType, viewKey);
        if (offsetBytes > root.ByteLength || sizeBytes > root.ByteLength - offsetBytes)
            throw new PickleException($"storage view {viewKey} lies outside storage {key}");
        var storage = new PickleStorage(viewKey, root.ElementType, sizeBytes, location) { Base = root, BaseOffset = offsetBytes };
        _views[viewKey] = storage;
        return storage;
    }
}
