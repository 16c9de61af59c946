using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using SdSharp.Cuda.Native;
using SdSharp.Tensors;

namespace SdSharp.Cuda;

/// <summary>
/// One GPU: the driver context, the single stream all work is queued on (so nothing waits for the device
/// inside a step), a caching allocator, the compiled kernels and cuBLASLt.
/// </summary>
internal sealed unsafe class CudaDevice : IDisposable
{
    private readonly nint _context;
    private readonly Dictionary<long, Stack<ulong>> _freeBlocks = new();
    private readonly List<nint> _modules = new();
    private bool _disposed;

    public CudaDevice(int ordinal)
    {
        Cu = new Driver(CudaLibraries.LoadDriver());
        int init = Cu.cuInit(0);
        if (init != 0) throw new CudaUnavailableException($"no usable NVIDIA GPU (cuInit returned {init})");
        int count;
        Cu.Check(Cu.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal >= count) throw new CudaUnavailableException($"no CUDA device {ordinal} ({count} found)");
        int device;
        Cu.Check(Cu.cuDeviceGet(&device, ordinal), "cuDeviceGet");
        Ordinal = device;
        var name = new byte[256];
        fixed (byte* n = name) Cu.Check(Cu.cuDeviceGetName(n, name.Length, device), "cuDeviceGetName");
        Name = Encoding.ASCII.GetString(name).TrimEnd('\0');
        int major, minor, sms;
        Cu.Check(Cu.cuDeviceGetAttribute(&major, Driver.AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute");
        Cu.Check(Cu.cuDeviceGetAttribute(&minor, Driver.AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute");
        Cu.Check(Cu.cuDeviceGetAttribute(&sms, Driver.AttributeMultiprocessorCount, device), "cuDeviceGetAttribute");
        ComputeCapability = major * 10 + minor;
        Multiprocessors = sms;
        nint context;
        Cu.Check(Cu.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
        _context = context;
        MakeCurrent();
        nint stream;
        Cu.Check(Cu.cuStreamCreate(&stream, 0), "cuStreamCreate");
        Stream = stream;
        Nvrtc = new Nvrtc(CudaLibraries.LoadNvrtc());
        Lt = new CublasLt(CudaLibraries.LoadCublasLt());
        Dnn = Cudnn.TryLoad();
        if (Dnn != null)
        {
            nint handle;
            if (Dnn.cudnnCreate(&handle) == 0 && Dnn.cudnnSetStream(handle, stream) == 0) DnnHandle = handle;
            else Dnn = null; // a cuDNN that cannot start (e.g. built for another CUDA) is as good as none
        }
    }

    /// <summary>cuDNN and its handle on this device's stream, when installed; convolutions use im2col otherwise.</summary>
    public Cudnn? Dnn { get; }
    public nint DnnHandle { get; }

    public Driver Cu { get; }
    public Nvrtc Nvrtc { get; }
    public CublasLt Lt { get; }
    public int Ordinal { get; }
    public string Name { get; }
    public int ComputeCapability { get; }
    public int Multiprocessors { get; }
    public nint Stream { get; }

    /// <summary>Bytes currently held from the driver (in use or cached), and the most ever held.</summary>
    public long ReservedBytes { get; private set; }
    public long PeakReservedBytes { get; private set; }
    /// <summary>Bytes in live tensors (what torch.cuda.max_memory_allocated measures), and the most ever.</summary>
    public long InUseBytes { get; private set; }
    public long PeakInUseBytes { get; private set; }

    public void ResetPeak() => PeakInUseBytes = InUseBytes;

    /// <summary>CUDA contexts are per thread: every entry point that may run on a new thread calls this.</summary>
    public void MakeCurrent() => Cu.Check(Cu.cuCtxSetCurrent(_context), "cuCtxSetCurrent");

    public void Synchronize() => Cu.Check(Cu.cuStreamSynchronize(Stream), "cuStreamSynchronize");

    // ---- memory: blocks are cached by rounded size and reused; freed to the driver only on dispose ----

    /// <summary>
    /// Activations are rounded up to 2 MiB above 1 MiB so blocks get reused across shapes; weights
    /// (<paramref name="exact"/>), which live as long as their model, only to 512 bytes: rounding every large
    /// weight to 2 MiB raised the SD 1.5 step's peak from 1923 to 2098 MB (bench/run-gpu.sh, H100).
    /// </summary>
    public static long RoundSize(long bytes, bool exact = false) =>
        bytes <= 1 << 20 || exact ? Math.Max(512, (bytes + 511) / 512 * 512) : (bytes + (2 << 20) - 1) / (2 << 20) * (2 << 20);

    /// <summary>A block for the backend's own use outside any captured graph (its workspace, upload buffers).</summary>
    public ulong Allocate(long bytes) => Allocate(bytes, exact: false, out _);

    /// <summary>
    /// A block of at least <paramref name="bytes"/>. While a graph is being captured the block is a part of that
    /// graph's arena, named in <paramref name="arena"/>: the graph writes it at every replay.
    /// </summary>
    public ulong Allocate(long bytes, bool exact, out GraphArena? arena)
    {
        lock (_freeBlocks)
        {
            arena = _capturing;
            if (arena != null) return arena.Next(RoundSize(bytes, exact: true));
        }
        ulong pointer = CachedOrNew(RoundSize(bytes, exact));
        lock (_freeBlocks) _tracing?.Allocated(pointer, RoundSize(bytes, exact: true));
        return pointer;
    }

    private ulong CachedOrNew(long size)
    {
        lock (_freeBlocks)
        {
            if (_freeBlocks.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                CountInUse(size);
                return stack.Pop();
            }
        }
        ulong pointer;
        int result = Cu.cuMemAlloc(&pointer, (nuint)size);
        if (result == 2 /* out of memory */)
        {
            ReleaseCached();
            result = Cu.cuMemAlloc(&pointer, (nuint)size);
        }
        if (result == 2)
            throw new DeviceCapacityException($"{Name} is out of memory: {size / 1048576.0:F0} MiB more were needed, {InUseBytes / 1048576.0:F0} MiB are in use");
        Cu.Check(result, $"cuMemAlloc({size} bytes)");
        lock (_freeBlocks)
        {
            ReservedBytes += size;
            PeakReservedBytes = Math.Max(PeakReservedBytes, ReservedBytes);
            CountInUse(size);
        }
        return pointer;
    }

    /// <summary>Counted once the block is really there: a request that failed is no peak.</summary>
    private void CountInUse(long size)
    {
        InUseBytes += size;
        PeakInUseBytes = Math.Max(PeakInUseBytes, InUseBytes);
    }

    /// <summary>
    /// Returns a block to the cache. A part of a graph's arena goes back with the arena; a block freed while a
    /// graph is captured is kept from the cache while that graph lives (a replay may still read it).
    /// </summary>
    public void Free(ulong pointer, long bytes, bool exact = false, GraphArena? arena = null)
    {
        if (arena != null) return;
        lock (_freeBlocks)
        {
            if (_disposed) return;
            long size = RoundSize(bytes, exact);
            if (_capturing != null)
            {
                _capturing.Retained.Add((size, pointer));
                return;
            }
            _tracing?.Freed(pointer);
            InUseBytes -= size;
            CacheBlock(size, pointer);
        }
    }

    private void CacheBlock(long size, ulong pointer)
    {
        if (!_freeBlocks.TryGetValue(size, out var stack)) _freeBlocks[size] = stack = new Stack<ulong>();
        stack.Push(pointer);
    }

    // ---- CUDA graphs: an eager call traced, then the same call recorded instead of run, in a planned arena ----

    private AllocationTrace? _tracing;
    private GraphArena? _capturing;

    /// <summary>Records the allocations made (and freed) until <see cref="EndTrace"/>.</summary>
    public void BeginTrace(AllocationTrace trace)
    {
        lock (_freeBlocks) _tracing = trace;
    }

    public void EndTrace()
    {
        lock (_freeBlocks) _tracing = null;
    }

    /// <summary>Gives the arena its memory and starts recording the stream's work; allocations until the end come from the arena.</summary>
    public void BeginCapture(GraphArena arena)
    {
        lock (_freeBlocks)
        {
            if (_capturing != null) throw new InvalidOperationException("a graph is already being captured");
            arena.Base = CachedOrNew(arena.Bytes);
            // Relaxed: driver calls made meanwhile (cuMemAlloc, library set-up) do not end the capture.
            int result = Cu.cuStreamBeginCapture(Stream, 2 /* CU_STREAM_CAPTURE_MODE_RELAXED */);
            if (result != 0)
            {
                InUseBytes -= arena.Bytes;
                CacheBlock(arena.Bytes, arena.Base);
                Cu.Check(result, "cuStreamBeginCapture");
            }
            _capturing = arena;
        }
    }

    /// <summary>Stops recording; returns the graph (the caller destroys it), or throws when the capture failed.</summary>
    public nint EndCapture()
    {
        lock (_freeBlocks) _capturing = null;
        nint graph;
        int result = Cu.cuStreamEndCapture(Stream, &graph);
        if (result != 0 && graph != 0) Cu.cuGraphDestroy(graph);
        Cu.Check(result, "cuStreamEndCapture");
        return graph;
    }

    /// <summary>Gives a dead graph's arena, and the blocks it kept, back to the cache (the caller has waited for its last replay).</summary>
    public void Release(GraphArena arena)
    {
        lock (_freeBlocks)
        {
            if (_disposed) return;
            foreach (var (size, pointer) in arena.Retained.Append((arena.Bytes, arena.Base)))
            {
                InUseBytes -= size;
                CacheBlock(size, pointer);
            }
            arena.Retained.Clear();
        }
    }

    /// <summary>Returns cached blocks to the driver (waits for queued work that may still use them).</summary>
    public void ReleaseCached()
    {
        Synchronize();
        lock (_freeBlocks)
        {
            foreach (var (size, stack) in _freeBlocks)
                while (stack.Count > 0)
                {
                    Cu.cuMemFree(stack.Pop());
                    ReservedBytes -= size;
                }
        }
    }

    // ---- kernels ----

    /// <summary>
    /// Compiles an embedded kernel source for this device (or loads it from the on-disk cache, keyed by the source,
    /// the options and the NVRTC version) and returns its functions by name.
    /// </summary>
    public Dictionary<string, nint> LoadKernels(string resource, string[] defines, string[] functions)
    {
        string source;
        using (var stream = typeof(CudaDevice).Assembly.GetManifestResourceStream($"SdSharp.Cuda.Kernels.{resource}")
            ?? throw new InvalidOperationException($"kernel source {resource} is not embedded"))
        using (var reader = new StreamReader(stream))
            source = reader.ReadToEnd();
        int[] supported = Nvrtc.SupportedArchitectures();
        // Machine code when NVRTC knows this GPU; otherwise PTX of the newest it knows, finished by the driver.
        int arch = supported.Length == 0 || supported.Contains(ComputeCapability) ? ComputeCapability : supported.Where(a => a <= ComputeCapability).DefaultIfEmpty(supported.Max()).Max();
        string target = arch == ComputeCapability ? $"--gpu-architecture=sm_{arch}" : $"--gpu-architecture=compute_{arch}";
        string[] options = [target, "--std=c++17", "-default-device", .. defines.Select(d => "-D" + d)];
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source + "\n" + string.Join(' ', options) + "\n" + Nvrtc.Version)))[..24];
        string cacheFile = Path.Combine(CacheDirectory(), $"{Path.GetFileNameWithoutExtension(resource)}-{key}.bin");
        byte[] code;
        if (File.Exists(cacheFile)) code = File.ReadAllBytes(cacheFile);
        else
        {
            code = Nvrtc.Compile(source, resource, options);
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(cacheFile)!);
                string temp = cacheFile + "." + Guid.NewGuid().ToString("N") + ".tmp";
                File.WriteAllBytes(temp, code);
                File.Move(temp, cacheFile, overwrite: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        nint module;
        if (target.Contains("compute_", StringComparison.Ordinal)) Array.Resize(ref code, code.Length + 1); // PTX must be NUL-terminated
        fixed (byte* c = code) Cu.Check(Cu.cuModuleLoadData(&module, c), $"cuModuleLoadData({resource})");
        _modules.Add(module);
        var result = new Dictionary<string, nint>();
        foreach (string function in functions)
        {
            nint f;
            byte[] name = Encoding.ASCII.GetBytes(function + "\0");
            fixed (byte* n = name) Cu.Check(Cu.cuModuleGetFunction(&f, module, n), $"cuModuleGetFunction({function})");
            result[function] = f;
        }
        return result;
    }

    private static string CacheDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable("SDSHARP_CACHE");
        if (!string.IsNullOrEmpty(configured)) return Path.Combine(configured, "cuda");
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "sdsharp", "cuda");
    }

    public void Launch(nint function, long threads, KernelArgs args, int blockSize = 256, uint sharedBytes = 0)
    {
        long blocks = Math.Clamp((threads + blockSize - 1) / blockSize, 1, (long)Multiprocessors * 32);
        Launch(function, (uint)blocks, 1, (uint)blockSize, args, sharedBytes);
    }

    public void Launch(nint function, uint gridX, uint gridY, uint blockX, KernelArgs args, uint sharedBytes = 0, uint gridZ = 1) =>
        Cu.Check(Cu.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes, Stream, args.Pointers, null), "cuLaunchKernel");

    public void Dispose()
    {
        if (_disposed) return;
        MakeCurrent();
        Synchronize();
        ReleaseCached();
        lock (_freeBlocks) _disposed = true;
        foreach (nint module in _modules) Cu.cuModuleUnload(module);
        if (Dnn != null) Dnn.cudnnDestroy(DnnHandle);
        Cu.cuStreamDestroy(Stream);
        Cu.cuDevicePrimaryCtxRelease(Ordinal);
    }
}

/// <summary>
/// Kernel arguments for cuLaunchKernel: each value copied into a buffer, with a pointer to each. One instance is
/// reused for every launch of a backend (a backend is driven by one thread at a time).
/// </summary>
internal sealed unsafe class KernelArgs : IDisposable
{
    private readonly byte* _values = (byte*)NativeMemory.AlignedAlloc(512, 16);
    private readonly void** _pointers = (void**)NativeMemory.Alloc(32, (nuint)sizeof(void*));
    private int _offset, _count;

    public void** Pointers => _pointers;

    public KernelArgs Reset()
    {
        _offset = _count = 0;
        return this;
    }

    public KernelArgs Add<TValue>(TValue value) where TValue : unmanaged
    {
        int align = Math.Min(sizeof(TValue), 8);
        _offset = (_offset + align - 1) / align * align;
        if (_offset + sizeof(TValue) > 512 || _count >= 32) throw new InvalidOperationException("too many kernel arguments");
        *(TValue*)(_values + _offset) = value;
        _pointers[_count++] = _values + _offset;
        _offset += sizeof(TValue);
        return this;
    }

    public void Dispose()
    {
        NativeMemory.AlignedFree(_values);
        NativeMemory.Free(_pointers);
    }
}

/// <summary>Device memory behind a CUDA tensor; returned to the device's cache when the last tensor over it is disposed.</summary>
internal sealed class CudaStorage(CudaDevice device, ulong pointer, long byteLength, bool exact = false, GraphArena? arena = null) : Storage
{
    public ulong Pointer { get; } = pointer;
    public override long ByteLength { get; } = byteLength;
    protected override void Free() => device.Free(Pointer, ByteLength, exact, arena);
}
