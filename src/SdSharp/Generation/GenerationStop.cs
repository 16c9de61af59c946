namespace SdSharp.Generation;

/// <summary>
/// A1111's interrupt and skip for a running generation. Either one stops sampling of the current batch at the
/// next model call, and that batch is still decoded from its latest x0 estimate (what A1111 returns as the
/// images so far). Interrupt also drops the batches not started yet; skip moves on to the next one.
/// Cancelling the generation's <see cref="CancellationToken"/> instead discards everything.
/// </summary>
public sealed class GenerationStop
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _batch = new();
    private bool _interrupted;

    public bool Interrupted
    {
        get { lock (_gate) return _interrupted; }
    }

    public void Interrupt()
    {
        lock (_gate)
        {
            _interrupted = true;
            _batch.Cancel();
        }
    }

    public void Skip()
    {
        lock (_gate) _batch.Cancel();
    }

    /// <summary>The token the next batch samples under: a skip aimed at an earlier batch does not carry over.</summary>
    internal CancellationToken BeginBatch()
    {
        lock (_gate)
        {
            if (_batch.IsCancellationRequested && !_interrupted)
            {
                _batch.Dispose();
                _batch = new CancellationTokenSource();
            }
            return _batch.Token;
        }
    }
}
