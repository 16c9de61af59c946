using SdSharp.Cuda;
using SdSharp.Cuda.Native;
using Xunit;

namespace SdSharp.Tests.Cuda;

/// <summary>The memory plan of a CUDA graph, which needs no GPU: offsets from a traced call.</summary>
public class GraphArenaTests
{
    /// <summary>Replays a list of events (+size: allocate, -n: free the n-th allocation) into a trace.</summary>
    private static AllocationTrace Trace(params long[] events)
    {
        var trace = new AllocationTrace();
        ulong next = 0x1000;
        var pointers = new List<ulong>();
        foreach (long e in events)
        {
            if (e > 0)
            {
                pointers.Add(next);
                trace.Allocated(next, e);
                next += 0x100000;
            }
            else trace.Freed(pointers[(int)-e - 1]);
        }
        return trace;
    }

    private static long[] Offsets(GraphArena arena, AllocationTrace trace) =>
        trace.Allocations.Select(a => (long)arena.Next(a.Size)).ToArray();

    [Fact]
    public void TensorsAliveAtTheSameTimeNeverShareBytes()
    {
        var rng = new Random(5);
        var events = new List<long>();
        var live = new List<int>();
        int count = 0;
        for (int step = 0; step < 400; step++)
        {
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int which = live[rng.Next(live.Count)];
                live.Remove(which);
                events.Add(-which);
            }
            else
            {
                events.Add(512L * rng.Next(1, 64));
                live.Add(++count);
            }
        }
        var trace = Trace([.. events]);
        var arena = new GraphArena(trace);
        long[] offsets = Offsets(arena, trace);
        var a = trace.Allocations;
        for (int i = 0; i < a.Count; i++)
        {
            Assert.True(offsets[i] % 512 == 0 && offsets[i] + a[i].Size <= arena.Bytes);
            for (int j = 0; j < i; j++)
                if (a[i].Start < a[j].End && a[j].Start < a[i].End)
                    Assert.True(offsets[i] + a[i].Size <= offsets[j] || offsets[j] + a[j].Size <= offsets[i], $"allocations {j} and {i} overlap");
        }
        // Far below keeping every block: the plan reuses memory across lifetimes.
        Assert.True(arena.Bytes < a.Sum(x => x.Size) / 2, $"arena {arena.Bytes} of {a.Sum(x => x.Size)} bytes");
    }

    [Fact]
    public void AChainOfTemporariesNeedsOnlyItsPeak()
    {
        // x1 → x2 (x1 freed) → x3 (x2 freed) ...: at most two alive at once, so the arena holds two.
        var trace = Trace(1024, 1024, -1, 1024, -2, 1024, -3, 1024, -4);
        var arena = new GraphArena(trace);
        Assert.Equal(2048, arena.Bytes);
    }

    [Fact]
    public void ACaptureThatAllocatesOtherwiseThanTheTraceFails()
    {
        var trace = Trace(1024, 2048, -1);
        var arena = new GraphArena(trace);
        arena.Next(1024);
        Assert.Throws<CudaException>(() => arena.Next(4096));
        var exhausted = new GraphArena(trace);
        exhausted.Next(1024);
        exhausted.Next(2048);
        Assert.Throws<CudaException>(() => exhausted.Next(512));
    }
}
