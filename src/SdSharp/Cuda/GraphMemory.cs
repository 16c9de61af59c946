using SdSharp.Cuda.Native;

namespace SdSharp.Cuda;

/// <summary>
/// The device allocations of one eager network call, in order, with when each was freed: what a graph of the
/// same call will ask for, so its memory can be planned before it is captured.
/// </summary>
internal sealed class AllocationTrace
{
    private readonly List<(long Size, int Start, int End)> _allocations = [];
    private readonly Dictionary<ulong, int> _live = [];
    private int _clock;

    public IReadOnlyList<(long Size, int Start, int End)> Allocations => _allocations;

    public void Allocated(ulong pointer, long size)
    {
        _live[pointer] = _allocations.Count;
        _allocations.Add((size, _clock++, int.MaxValue)); // still live at the end of the call until freed
    }

    public void Freed(ulong pointer)
    {
        if (!_live.Remove(pointer, out int index)) return; // allocated before the call
        _allocations[index] = _allocations[index] with { End = _clock++ };
    }
}

/// <summary>
/// The memory of one CUDA graph: a single device block, with every allocation of the captured call at an offset
/// planned from the eager call's <see cref="AllocationTrace"/>. Two allocations share bytes only when their
/// lifetimes do not overlap, so the block is about the call's peak of live tensors, not the sum of the blocks
/// a size-keyed cache would keep (the first version of the graphs kept that: 150 MB more on an SD 1.5 step).
/// </summary>
internal sealed class GraphArena
{
    private readonly long[] _sizes;
    private readonly long[] _offsets;
    private int _next;

    /// <summary>Blocks from outside the graph freed while it was captured: it may still read them, so they stay out of the cache while it lives.</summary>
    public List<(long Size, ulong Pointer)> Retained { get; } = [];

    public ulong Base { get; set; }
    public long Bytes { get; }

    public GraphArena(AllocationTrace trace)
    {
        var allocations = trace.Allocations;
        _sizes = allocations.Select(a => a.Size).ToArray();
        _offsets = new long[allocations.Count];
        // Greedy by size: the largest first, each at the lowest offset free for its whole lifetime.
        var placed = new List<int>();
        foreach (int i in Enumerable.Range(0, allocations.Count).OrderByDescending(i => allocations[i].Size).ThenBy(i => i))
        {
            var (size, start, end) = allocations[i];
            long offset = 0;
            foreach (int j in placed.Where(j => allocations[j].Start < end && start < allocations[j].End).OrderBy(j => _offsets[j]))
            {
                if (_offsets[j] >= offset + size) break;
                offset = Math.Max(offset, _offsets[j] + allocations[j].Size);
            }
            _offsets[i] = offset;
            placed.Add(i);
            Bytes = Math.Max(Bytes, offset + size);
        }
        Bytes = Math.Max(Bytes, 512);
    }

    /// <summary>The address of the capture's next allocation; it must be the one the trace saw next.</summary>
    public ulong Next(long size)
    {
        if (_next >= _sizes.Length || _sizes[_next] != size)
            throw new CudaException($"the captured call allocated {size} bytes as its allocation {_next}, where the eager call allocated " +
                (_next < _sizes.Length ? $"{_sizes[_next]}" : "nothing more"));
        return Base + (ulong)_offsets[_next++];
    }
}
