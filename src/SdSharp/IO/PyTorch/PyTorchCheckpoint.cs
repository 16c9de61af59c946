using SdSharp.IO.Pickle;

namespace SdSharp.IO;

/// <summary>
/// A PyTorch checkpoint (<c>.ckpt .pt .pth .bin</c>) written by torch.save, in the zip format (torch 1.6+) or the
/// legacy one. Its pickle is read by a restricted unpickler that only rebuilds tensors, containers and a few
/// inert data classes: loading never executes anything from the file. Tensors are named by their path in the
/// object tree ("state_dict" unwrapped); <see cref="Root"/> keeps the whole tree for files whose structure
/// matters (hypernetworks, textual-inversion embeddings).
/// </summary>
public sealed unsafe class PyTorchCheckpoint : TensorFile
{
    private readonly MappedFile _file;
    private readonly NativeBuffers _buffers;

    private PyTorchCheckpoint(MappedFile file, NativeBuffers buffers, string format, object? root) : base(file.Path)
    {
        _file = file;
        _buffers = buffers;
        Format = format;
        Root = root;
        // Copies of strided tensors may not exceed twice the file plus some slack: a real checkpoint's tensors
        // never hold more elements than its storages.
        long budget = 2 * file.Length + (256L << 20);
        (List<TensorEntry> tensors, Dictionary<string, string> metadata) = CheckpointTree.Build(this, root, buffers, budget);
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>"pytorch-zip" or "pytorch-legacy".</summary>
    public override string Format { get; }

    public override IReadOnlyList<TensorEntry> Tensors { get; }

    /// <summary>The top-level numbers and strings of the saved dict ("global_step", "name", "step"), as Python prints them.</summary>
    public override IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// The unpickled object: <see cref="PickleDict"/>, <c>List&lt;object?&gt;</c>, <see cref="PickleTuple"/>,
    /// primitives, and <see cref="PickleTensor"/> leaves whose <see cref="PickleTensor.Entry"/> holds the data.
    /// </summary>
    public object? Root { get; }

    public static PyTorchCheckpoint Open(string path) => Open(MappedFile.Open(path));

    /// <summary>Opens a checkpoint from its mapping, which the checkpoint then owns (disposed on failure too).</summary>
    internal static PyTorchCheckpoint Open(MappedFile file)
    {
        string path = file.Path;
        var buffers = new NativeBuffers();
        try
        {
            ModelFormat format = ModelFiles.DetectFile(file);
            object? root = format switch
            {
                ModelFormat.PyTorchZip => TorchZipReader.Read(file, buffers),
                ModelFormat.PyTorchLegacy => TorchLegacyReader.Read(file),
                _ => throw FormatErrors.At(path, $"not a PyTorch checkpoint (this is a {ModelFiles.Describe(format)} file)"),
            };
            return new PyTorchCheckpoint(file, buffers, format == ModelFormat.PyTorchZip ? "pytorch-zip" : "pytorch-legacy", root);
        }
        catch
        {
            buffers.Dispose();
            file.Dispose();
            throw;
        }
    }

    public override void DropFromMemory(TensorEntry entry) => _file.DropPages(entry.Pointer, entry.ByteLength);

    protected override void ReleaseMemory()
    {
        _file.Dispose();
        _buffers.Dispose();
    }
}
