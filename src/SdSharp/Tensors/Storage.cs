namespace SdSharp.Tensors;

/// <summary>
/// A block of backend memory shared by a tensor and its views. Reference counted and released when the last
/// tensor over it is disposed: memory (host or device) is freed deterministically, never by a finalizer.
/// </summary>
public abstract class Storage
{
    private int _references = 1;

    /// <summary>Size in bytes.</summary>
    public abstract long ByteLength { get; }

    internal void AddReference()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new ObjectDisposedException(GetType().Name, "Storage used after it was freed.");
    }

    internal void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0) Free();
        else if (left < 0) throw new InvalidOperationException("Storage released more often than referenced.");
    }

    protected abstract void Free();
}
