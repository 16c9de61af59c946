using System.Runtime.InteropServices;

namespace SdSharp.IO;

/// <summary>
/// Native memory a tensor file owns besides its mapping (inflated zip entries, contiguous copies of strided
/// tensors): freed all at once when the file is disposed, never by a finalizer. Aligned to 64 bytes so
/// backends may use aligned vector loads on it.
/// </summary>
internal sealed unsafe class NativeBuffers : IDisposable
{
    private readonly List<nint> _blocks = [];

    public long TotalBytes { get; private set; }

    public byte* Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        _blocks.Add((nint)p);
        TotalBytes += bytes;
        return p;
    }

    public void Dispose()
    {
        foreach (nint p in _blocks) NativeMemory.AlignedFree((void*)p);
        _blocks.Clear();
        TotalBytes = 0;
    }
}
