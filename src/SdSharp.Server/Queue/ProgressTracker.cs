using System.Diagnostics;
using System.Globalization;
using SdSharp.Generation;
using SdSharp.Server.Api;

namespace SdSharp.Server.Queue;

/// <summary>
/// A1111's <c>shared.state</c> for the running job: job counts, sampling step, the live preview and the flags
/// interrupt and skip set. The worker writes it, <c>/sdapi/v1/progress</c> reads it; one lock keeps the two
/// consistent.
/// </summary>
public sealed class ProgressTracker(Func<ServerSettings> settings)
{
    private readonly Lock _gate = new();
    private readonly ProgressStateDto _state = new();
    private readonly Stopwatch _clock = new();
    private string? _task;
    private string? _textinfo;
    private string? _preview; // base64, made once per preview rather than per /progress poll
    private int _previewStep;
    private long _previewWantedAt; // when a client last asked for the preview; 0: never

    public void Begin(string job, string taskId, int jobCount)
    {
        lock (_gate)
        {
            _state.Job = job;
            _state.JobCount = jobCount;
            _state.JobNo = 0;
            _state.JobTimestamp = DateTime.Now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
            _state.SamplingStep = 0;
            _state.SamplingSteps = 0;
            _state.Skipped = _state.Interrupted = _state.StoppingGeneration = false;
            _task = taskId;
            _textinfo = null;
            _preview = null;
            _previewStep = 0;
            _clock.Restart();
        }
    }

    public void End()
    {
        lock (_gate)
        {
            _state.Job = "";
            _state.JobCount = 0;
            _task = null;
            _textinfo = null;
        }
    }

    public void MarkInterrupted()
    {
        lock (_gate) _state.Interrupted = true;
    }

    public void MarkSkipped()
    {
        lock (_gate) _state.Skipped = true;
    }

    /// <summary>When the running job started, as A1111 writes it ("yyyyMMddHHmmss").</summary>
    public string JobTimestamp
    {
        get
        {
            lock (_gate) return _state.JobTimestamp;
        }
    }

    /// <summary>A1111's jobs per batch: a hires pass is a job of its own.</summary>
    public static int JobsPerBatch(bool hires) => hires ? 2 : 1;

    /// <summary>One step of the running generation, with A1111's job numbering.</summary>
    public void Report(GenerationProgress p, bool hires)
    {
        if (p.Phase == "decoding") return;
        int jobsPerBatch = JobsPerBatch(hires);
        lock (_gate)
        {
            _state.JobCount = p.Batches * jobsPerBatch;
            _state.JobNo = p.Batch * jobsPerBatch + (p.Phase == "hires" ? 1 : 0);
            if (p.Batches > 1) _state.Job = $"Batch {p.Batch + 1} out of {p.Batches}";
            _state.SamplingStep = p.Step;
            _state.SamplingSteps = p.Steps;
            _textinfo = $"{(p.Phase == "hires" ? "Hires pass" : "Sampling")}: step {p.Step + 1}/{p.Steps}" +
                        (p.Batches > 1 ? $", batch {p.Batch + 1}/{p.Batches}" : "");
        }
    }

    /// <summary>
    /// Whether this step should render a preview: A1111's every-N-steps rule, and only while some client has
    /// asked for one in the last few seconds (decoding a preview costs a VAE pass).
    /// </summary>
    public bool WantsPreview(GenerationProgress p)
    {
        var s = settings();
        if (!s.LivePreviewsEnable || s.ShowProgressEveryNSteps <= 0 || p.Preview == null || p.Phase == "decoding") return false;
        lock (_gate)
        {
            if (_previewWantedAt == 0 || Stopwatch.GetElapsedTime(_previewWantedAt).TotalSeconds > 5) return false;
            return p.Step + 1 - _previewStep >= s.ShowProgressEveryNSteps || p.Step + 1 == p.Steps;
        }
    }

    public void SetPreview(byte[] png, int step)
    {
        string encoded = Convert.ToBase64String(png);
        lock (_gate)
        {
            _preview = encoded;
            _previewStep = step + 1;
        }
    }

    public ProgressResponse Snapshot(bool skipCurrentImage, int queueSize)
    {
        lock (_gate)
        {
            if (!skipCurrentImage) _previewWantedAt = Stopwatch.GetTimestamp();
            var state = new ProgressStateDto
            {
                Skipped = _state.Skipped, Interrupted = _state.Interrupted, StoppingGeneration = _state.StoppingGeneration,
                Job = _state.Job, JobCount = _state.JobCount, JobTimestamp = _state.JobTimestamp, JobNo = _state.JobNo,
                SamplingStep = _state.SamplingStep, SamplingSteps = _state.SamplingSteps,
            };
            var response = new ProgressResponse { State = state, Textinfo = _textinfo, CurrentTask = _task, QueueSize = queueSize };
            if (state.JobCount <= 0) return response;
            // A1111's progressapi: 1% for having started, the jobs done, the fraction of this job's steps.
            double progress = 0.01 + (double)state.JobNo / state.JobCount;
            if (state.SamplingSteps > 0) progress += 1.0 / state.JobCount * state.SamplingStep / state.SamplingSteps;
            double elapsed = _clock.Elapsed.TotalSeconds;
            response.EtaRelative = elapsed / progress - elapsed;
            response.Progress = Math.Min(progress, 1);
            if (!skipCurrentImage) response.CurrentImage = _preview;
            return response;
        }
    }
}
