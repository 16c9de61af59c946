using System.Runtime.InteropServices;
using SdSharp.Tensors;

namespace SdSharp.Cpu;

/// <summary>
/// Host memory for CPU tensors: 64-byte aligned native blocks, recycled by exact size. A diffusion step
/// allocates the same few activation sizes over and over; reusing blocks avoids page-faulting fresh memory
/// (which costs more than the arithmetic of small ops). Blocks go back to the pool when their tensor is
/// disposed, and to the OS when the backend is disposed or the pool grows past its cap.
/// </summary>
internal sealed unsafe class CpuMemoryPool : IDisposable
{
    private const long Granularity = 4096;
    private readonly Dictionary<long, Stack<nint>> _free = new();
    private readonly long _maxPooledBytes;
    private long _pooledBytes;
    private bool _disposed;

    public CpuMemoryPool(long maxPooledBytes) => _maxPooledBytes = maxPooledBytes;

    public CpuStorage Allocate(long bytes)
    {
        long size = Math.Max(Granularity, (bytes + Granularity - 1) / Granularity * Granularity);
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _pooledBytes -= size;
                return new CpuStorage((byte*)stack.Pop(), size, this);
            }
        }
        return new CpuStorage((byte*)NativeMemory.AlignedAlloc((nuint)size, 64), size, this);
    }

    public void Return(byte* pointer, long size)
    {
        lock (_free)
        {
            if (!_disposed && _pooledBytes + size <= _maxPooledBytes)
            {
                if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new Stack<nint>();
                stack.Push((nint)pointer);
                _pooledBytes += size;
                return;
            }
        }
        NativeMemory.AlignedFree(pointer);
    }

    public void Dispose()
    {
        lock (_free)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var stack in _free.Values)
                while (stack.Count > 0) NativeMemory.AlignedFree((void*)stack.Pop());
            _free.Clear();
            _pooledBytes = 0;
        }
    }
}

/// <summary>Host memory behind a CPU tensor: a pooled block, or borrowed memory (a file mapping) it does not own.</summary>
internal sealed unsafe class CpuStorage : Storage
{
    private readonly CpuMemoryPool? _pool;

    public CpuStorage(byte* pointer, long byteLength, CpuMemoryPool? pool)
    {
        Pointer = pointer;
        ByteLength = byteLength;
        _pool = pool;
    }

    public byte* Pointer { get; }
    public override long ByteLength { get; }

    protected override void Free() => _pool?.Return(Pointer, ByteLength);
}
