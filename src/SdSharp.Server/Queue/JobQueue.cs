using SdSharp.Generation;

namespace SdSharp.Server.Queue;

/// <summary>The queue already holds as many waiting jobs as it may (answered 503 with Retry-After).</summary>
public sealed class QueueFullException(int waiting) : Exception($"the queue is full ({waiting} jobs waiting); try again later");

/// <summary>What a running job sees: its cancellation (the client went away) and its interrupt/skip handle.</summary>
public sealed class JobContext(string taskId, CancellationToken aborted)
{
    public string TaskId { get; } = taskId;
    public CancellationToken Aborted { get; } = aborted;
    public GenerationStop Stop { get; } = new();
}

/// <summary>
/// One job at a time, in arrival order, on a dedicated thread (generation is long, synchronous CPU/GPU work).
/// A job whose client disconnects is dropped while it waits and cancelled while it runs; an exception in a
/// job fails that job's request only. Interrupt and skip act on the running job.
/// </summary>
public sealed class JobQueue : IDisposable
{
    private readonly int _maxWaiting;
    private readonly ProgressTracker _progress;
    private readonly TextWriter _log;
    private readonly LinkedList<Job> _waiting = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Thread _worker;
    private Job? _running;
    private double _averageSeconds;

    public JobQueue(int maxWaiting, ProgressTracker progress, TextWriter log)
    {
        _maxWaiting = maxWaiting;
        _progress = progress;
        _log = log;
        _worker = new Thread(Work) { IsBackground = true, Name = "sdsharp-queue" };
        _worker.Start();
    }

    /// <summary>Jobs waiting behind the running one.</summary>
    public int Waiting
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>
    /// Queues <paramref name="work"/>; the task completes with its result, its exception, or as cancelled when
    /// <paramref name="aborted"/> fires first. <paramref name="jobCount"/> is A1111's job_count to start with.
    /// </summary>
    public Task<T> Run<T>(string name, string taskId, int jobCount, Func<JobContext, T> work, CancellationToken aborted)
    {
        var job = new Job<T>(name, taskId, jobCount, work, aborted);
        lock (_gate)
        {
            if (_shutdown.IsCancellationRequested) throw new ObjectDisposedException(nameof(JobQueue));
            if (_waiting.Count >= _maxWaiting) throw new QueueFullException(_waiting.Count);
            job.Node = _waiting.AddLast(job);
        }
        // Registered after queuing: a token already cancelled fires at once and takes the job back out.
        var registration = aborted.Register(() => Abandon(job));
        job.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _signal.Release();
        return job.Task;
    }

    /// <summary>How long a job has taken lately (a moving average), for Retry-After.</summary>
    public double AverageJobSeconds
    {
        get { lock (_gate) return _averageSeconds == 0 ? 5 : _averageSeconds; }
    }

    public void Interrupt()
    {
        lock (_gate)
        {
            if (_running == null) return;
            _running.Context.Stop.Interrupt();
            _progress.MarkInterrupted();
        }
    }

    public void Skip()
    {
        lock (_gate)
        {
            if (_running == null) return;
            _running.Context.Stop.Skip();
            _progress.MarkSkipped();
        }
    }

    private void Abandon(Job job)
    {
        lock (_gate)
        {
            if (job.Node?.List == null) return; // running or done: the job's own token cancels it
            _waiting.Remove(job.Node);
        }
        job.Cancel();
    }

    private void Work()
    {
        while (true)
        {
            try
            {
                _signal.Wait(_shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Job? job;
            lock (_gate)
            {
                job = _waiting.First?.Value;
                if (job == null) continue; // its client left before it started
                _waiting.RemoveFirst();
                _running = job;
            }
            _progress.Begin(job.Name, job.Context.TaskId, job.JobCount);
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                job.Execute();
            }
            catch (Exception e)
            {
                // Execute reports the job's own failure to its caller; this is a bug in the queue itself.
                _log.WriteLine($"sdsharp serve: job {job.Context.TaskId} failed outside its handler: {e}");
            }
            finally
            {
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
                lock (_gate)
                {
                    _running = null;
                    _averageSeconds = _averageSeconds == 0 ? seconds : 0.8 * _averageSeconds + 0.2 * seconds;
                }
                _progress.End();
            }
        }
    }

    public void Dispose()
    {
        List<Job> left;
        lock (_gate)
        {
            _shutdown.Cancel();
            _running?.Context.Stop.Interrupt();
            left = [.. _waiting];
            _waiting.Clear();
        }
        foreach (var job in left) job.Cancel();
        _worker.Join(TimeSpan.FromSeconds(30));
    }

    private abstract class Job(string name, string taskId, int jobCount, CancellationToken aborted)
    {
        public string Name { get; } = name;
        public int JobCount { get; } = jobCount;
        public JobContext Context { get; } = new(taskId, aborted);
        public LinkedListNode<Job>? Node { get; set; }

        public abstract void Execute();
        public abstract void Cancel();
    }

    private sealed class Job<T>(string name, string taskId, int jobCount, Func<JobContext, T> work, CancellationToken aborted)
        : Job(name, taskId, jobCount, aborted)
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _done.Task;

        public override void Execute()
        {
            try
            {
                Context.Aborted.ThrowIfCancellationRequested();
                _done.TrySetResult(work(Context));
            }
            catch (OperationCanceledException) when (Context.Aborted.IsCancellationRequested)
            {
                _done.TrySetCanceled(Context.Aborted);
            }
            catch (Exception e)
            {
                _done.TrySetException(e);
            }
        }

        public override void Cancel() => _done.TrySetCanceled();
    }
}
