using SdSharp.Cuda.Native;
using SdSharp.Tensors;

namespace SdSharp.Cuda;

/// <summary>
/// CUDA graphs for one network: the first call of a shape runs eagerly (it makes the cuBLASLt and cuDNN plans,
/// which must not be made while recording, and its allocations are traced to plan the graph's memory), the second
/// is captured into a graph and launched, later ones copy their inputs into the graph's input tensors and replay
/// it: one launch instead of hundreds (about 480 for an SD 1.5 UNet call). Holds the graphs of the few shapes
/// used last; a capture that fails leaves that shape eager.
/// </summary>
internal sealed class CudaGraphs(CudaBackend backend, CudaDevice device) : IReplayCache
{
    /// <summary>Shapes kept: a generation uses one or two (cond and uncond of unequal lengths), hires fix one more.</summary>
    private const int MaxShapes = 3;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;

    private sealed class Entry(string state)
    {
        public string State { get; } = state;
        public int Calls;
        public long LastUse;
        public bool Failed;
        public AllocationTrace? Trace;
        public CapturedGraph? Graph;
    }

    public Tensor Run(string shape, string state, IReadOnlyList<Tensor?> inputs, Func<IReadOnlyList<Tensor?>, Tensor> body)
    {
        if (!backend.UseGraphs) return body(inputs);
        if (!_entries.TryGetValue(shape, out var entry) || entry.State != state)
        {
            if (entry != null) Drop(shape);
            else if (_entries.Count >= MaxShapes) Drop(_entries.MinBy(e => e.Value.LastUse).Key);
            _entries[shape] = entry = new Entry(state);
        }
        entry.LastUse = ++_clock;
        if (entry.Failed) return body(inputs);
        if (++entry.Calls == 1)
        {
            entry.Trace = new AllocationTrace();
            device.BeginTrace(entry.Trace);
            try
            {
                return body(inputs);
            }
            catch
            {
                _entries.Remove(shape); // the trace is incomplete
                throw;
            }
            finally
            {
                device.EndTrace();
            }
        }
        if (entry.Graph == null)
        {
            try
            {
                entry.Graph = CapturedGraph.Capture(backend, device, new GraphArena(entry.Trace!), inputs, body);
                entry.Trace = null;
                backend.GraphStatistics.Captured++;
            }
            catch (CudaException e)
            {
                // Something in the body cannot be recorded: this shape stays eager, which computes the same.
                entry.Failed = true;
                backend.GraphStatistics.Failure = e.Message;
                return body(inputs);
            }
        }
        backend.GraphStatistics.Replays++;
        return entry.Graph.Replay(inputs);
    }

    private void Drop(string shape)
    {
        _entries[shape].Graph?.Dispose();
        _entries.Remove(shape);
    }

    public void Dispose()
    {
        foreach (var entry in _entries.Values) entry.Graph?.Dispose();
        _entries.Clear();
    }
}

/// <summary>An instantiated graph with its input tensors (copies of the shapes it was captured with), its output and its memory.</summary>
internal sealed unsafe class CapturedGraph : IDisposable
{
    private readonly CudaBackend _backend;
    private readonly CudaDevice _device;
    private readonly Tensor?[] _inputs;
    private readonly Tensor _output;
    private readonly GraphArena _arena;
    private readonly nint _exec;

    private CapturedGraph(CudaBackend backend, CudaDevice device, Tensor?[] inputs, Tensor output, GraphArena arena, nint exec)
    {
        _backend = backend;
        _device = device;
        _inputs = inputs;
        _output = output;
        _arena = arena;
        _exec = exec;
    }

    public static CapturedGraph Capture(CudaBackend backend, CudaDevice device, GraphArena arena, IReadOnlyList<Tensor?> inputs,
        Func<IReadOnlyList<Tensor?>, Tensor> body)
    {
        device.MakeCurrent();
        // The graph reads its own input tensors, which every replay first fills with the call's values.
        var statics = inputs.Select(t => t == null ? null : backend.Copy(t, contents: false)).ToArray();
        Tensor? output = null;
        nint graph = 0, exec = 0;
        bool began = false;
        try
        {
            device.BeginCapture(arena);
            began = true;
            try
            {
                output = body(statics);
            }
            finally
            {
                graph = device.EndCapture();
            }
            device.Cu.Check(device.Cu.cuGraphInstantiateWithFlags(&exec, graph, 0), "cuGraphInstantiateWithFlags");
            return new CapturedGraph(backend, device, statics, output, arena, exec);
        }
        catch
        {
            output?.Dispose();
            foreach (var t in statics) t?.Dispose();
            if (began) device.Release(arena);
            throw;
        }
        finally
        {
            if (graph != 0) device.Cu.cuGraphDestroy(graph);
        }
    }

    public Tensor Replay(IReadOnlyList<Tensor?> inputs)
    {
        _device.MakeCurrent();
        for (int i = 0; i < _inputs.Length; i++)
        {
            if ((inputs[i] == null) != (_inputs[i] == null)) throw new ArgumentException($"input {i} given where the graph was captured without it, or the reverse");
            if (inputs[i] is Tensor input) _backend.CopyInto(_inputs[i]!, input);
        }
        _device.Cu.Check(_device.Cu.cuGraphLaunch(_exec, _device.Stream), "cuGraphLaunch");
        return _backend.Copy(_output);
    }

    public void Dispose()
    {
        _device.MakeCurrent();
        _device.Synchronize(); // a replay may still be running
        _device.Cu.cuGraphExecDestroy(_exec);
        _output.Dispose();
        foreach (var t in _inputs) t?.Dispose();
        _device.Release(_arena);
    }
}
