namespace SdSharp.Cpu;

/// <summary>Parallel loops sized for the CPU backend's thread count.</summary>
internal sealed class CpuParallel(int threads)
{
    private readonly ParallelOptions _options = new() { MaxDegreeOfParallelism = threads };

    public int Threads { get; } = threads;

    /// <summary>Runs body(i) for i in [0, count), in parallel when count and the work justify it.</summary>
    public void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, _options, body);
    }

    /// <summary>
    /// Splits [0, total) into contiguous ranges of at least <paramref name="minPerTask"/> items, a few per
    /// thread, and runs body(start, end) on each: for cheap elementwise work where per-item calls cost too much.
    /// </summary>
    public void ForRanges(long total, long minPerTask, Action<long, long> body)
    {
        if (total <= 0) return;
        long tasks = Math.Clamp(total / Math.Max(1, minPerTask), 1, Threads * 4L);
        if (tasks == 1)
        {
            body(0, total);
            return;
        }
        long chunk = (total + tasks - 1) / tasks;
        For((int)tasks, t =>
        {
            long start = t * chunk, end = Math.Min(total, start + chunk);
            if (start < end) body(start, end);
        });
    }
}
