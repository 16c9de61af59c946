namespace SdSharp.Tensors;

/// <summary>
/// An n-dimensional array on a backend: contiguous, row-major, with an explicit lifetime. Activations are
/// NHWC ([B, H, W, C]) or [B, L, C]. Dispose a tensor when done; views share storage and keep it alive.
/// Model code never reads elements: it passes tensors to backend ops and reads results with
/// <see cref="ToArray"/> only at the edges (tests, final outputs).
/// </summary>
public sealed class Tensor : IDisposable
{
    private bool _disposed;

    internal Tensor(IBackend backend, Storage storage, long offsetBytes, Shape shape, DType dtype)
    {
        Backend = backend;
        Storage = storage;
        OffsetBytes = offsetBytes;
        Shape = shape;
        DType = dtype;
        if (offsetBytes + shape.ElementCount * dtype.Size() > storage.ByteLength)
            throw new ArgumentException($"Tensor {shape} {dtype} does not fit its storage.");
    }

    public IBackend Backend { get; }
    public Shape Shape { get; }
    public DType DType { get; }
    public long ElementCount => Shape.ElementCount;
    internal Storage Storage { get; }
    internal long OffsetBytes { get; }

    /// <summary>The same elements seen with another shape of the same size (no copy).</summary>
    public Tensor Reshape(params int[] dims)
    {
        int infer = Array.IndexOf(dims, -1);
        if (infer >= 0)
        {
            long known = 1;
            for (int i = 0; i < dims.Length; i++) if (i != infer) known *= dims[i];
            dims = (int[])dims.Clone();
            dims[infer] = checked((int)(ElementCount / Math.Max(1, known)));
        }
        var shape = new Shape(dims);
        if (shape.ElementCount != ElementCount)
            throw new ArgumentException($"Cannot view {Shape} as {shape}.");
        return View(OffsetBytes, shape);
    }

    /// <summary>Items [start, start+count) of the first dimension (no copy): a batch slice.</summary>
    public Tensor SliceBatch(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"Batch slice {start}+{count} of {Shape}.");
        long itemBytes = Shape.ElementCount / Math.Max(1, Shape[0]) * DType.Size();
        return View(OffsetBytes + start * itemBytes, Shape.With(0, count));
    }

    private Tensor View(long offsetBytes, Shape shape)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Storage.AddReference();
        return new Tensor(Backend, Storage, offsetBytes, shape, DType);
    }

    /// <summary>Copies the elements to the host as fp32 (waits for the device).</summary>
    public float[] ToArray()
    {
        var data = new float[ElementCount];
        Backend.CopyToHost(this, data);
        return data;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Storage.Release();
    }

    public bool IsDisposed => _disposed;

    public override string ToString() => $"Tensor{Shape} {DType} on {Backend.Name}";
}
