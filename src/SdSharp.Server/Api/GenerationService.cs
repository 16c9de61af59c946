using System.Globalization;
using System.Text.Json;
using SdSharp.Generation;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using SdSharp.Sampling.Random;
using SdSharp.Server.Models;
using SdSharp.Server.Queue;

namespace SdSharp.Server.Api;

/// <summary>What one queued generation produced, with what the response's <c>info</c> needs to describe it.</summary>
public sealed record GenerationOutcome(GenerationResult Result, CheckpointEntry Checkpoint, bool InpaintingModel, string JobTimestamp);

/// <summary>
/// Runs txt2img/img2img jobs on the queue's thread against the loaded model, reporting progress and previews,
/// and turns results into A1111's response: base64 PNGs with their infotext and the <c>Processed.js()</c> info.
/// </summary>
public sealed class GenerationService(ServerState state)
{
    public async Task<GenerationResponse> RunAsync(string kind, ProcessingRequest body, GenerationJob job, CancellationToken aborted)
    {
        string taskId = string.IsNullOrEmpty(body.ForceTaskId) ? TaskIds.Create(kind) : body.ForceTaskId;
        var outcome = await state.Queue.Run($"scripts_{kind}", taskId, job.Request.NIter * ProgressTracker.JobsPerBatch(job.Request.EnableHr), context => Generate(job, context), aborted);
        // Each image is encoded once, with its infotext, for the folder and for the response (A1111's encode_pil_to_base64).
        var pngs = outcome.Result.Images.Select(i => ImageOutput.Encode(i.Image, i.Infotext.Text)).ToList();
        if (job.SaveImages) Save(kind, outcome.Result, pngs);
        bool send = body.SendImages ?? true;
        var response = new GenerationResponse
        {
            Images = send ? [.. pngs.Select(Convert.ToBase64String)] : [],
            Parameters = body,
            Info = JsonSerializer.Serialize(Info(body, job, outcome), ApiJson.Web.ProcessedInfo),
        };
        if (body is Img2ImgRequest img2img && img2img.IncludeInitImages != true)
        {
            // A1111 leaves the (large) input images out of the echo unless asked.
            img2img.InitImages = null;
            img2img.Mask = null;
        }
        return response;
    }

    /// <summary>On the queue's thread: switch model if needed, generate, report progress.</summary>
    private GenerationOutcome Generate(GenerationJob job, JobContext context)
    {
        var checkpoint = job.Checkpoint ?? state.SelectedCheckpoint ?? throw new ApiException(503, "no model is available");
        var generator = state.Model.Load(checkpoint);
        if (job.KeepSettings)
        {
            // override_settings_restore_afterwards = false: the overrides stay in force, as A1111's opts do.
            state.Settings = job.Settings;
            if (job.Checkpoint != null) state.SelectedCheckpoint = job.Checkpoint;
        }
        var tracker = state.Progress;
        var result = generator.Generate(job.Request, p =>
        {
            tracker.Report(p, job.Request.EnableHr);
            if (tracker.WantsPreview(p)) tracker.SetPreview(PngEncoder.Encode(p.Preview!()), p.Step);
        }, context.Aborted, context.Stop);
        foreach (string warning in result.Warnings) state.Log.WriteLine($"sdsharp serve: {warning}");
        return new GenerationOutcome(result, checkpoint, generator.Model.Checkpoint.IsInpainting, tracker.JobTimestamp);
    }

    private void Save(string kind, GenerationResult result, List<byte[]> pngs)
    {
        string folder = Path.Combine(state.Options.Outputs, $"{kind}-images", DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        for (int i = 0; i < pngs.Count; i++) ImageOutput.SaveNumbered(folder, pngs[i], result.Images[i].Seed);
    }

    // The keys create_infotext writes itself; everything else (Denoising strength, Mask blur, Hires upscale, ...)
    // came from extra_generation_params.
    private static readonly HashSet<string> FixedInfotextKeys =
    [
        "Steps", "Sampler", "Schedule type", "CFG scale", "Image CFG scale", "Seed", "Face restoration", "Size", "Model hash", "Model",
        "FP8 weight", "Cache FP16 weight for LoRA", "VAE hash", "VAE", "Variation seed", "Variation seed strength", "Seed resize from",
        "Conditional mask weight", "Clip skip", "ENSD", "Token merging ratio", "Token merging ratio hr", "Init image hash", "RNG", "Tiling",
        "Version", "User",
    ];

    /// <summary>A1111's <c>Processed.js()</c> for this job.</summary>
    private static ProcessedInfo Info(ProcessingRequest body, GenerationJob job, GenerationOutcome outcome)
    {
        var r = outcome.Result.Request;
        int count = r.BatchSize * r.NIter;
        var images = outcome.Result.Images;
        var extra = new Dictionary<string, JsonElement>();
        if (images.Count > 0)
            foreach (var (key, value) in images[0].Infotext.Parameters)
                if (!FixedInfotextKeys.Contains(key)) extra[key] = Json.FromInfotextValue(value);
        return new ProcessedInfo
        {
            Prompt = r.Prompt,
            AllPrompts = [.. Enumerable.Repeat(r.Prompt, count)],
            NegativePrompt = r.NegativePrompt,
            AllNegativePrompts = [.. Enumerable.Repeat(r.NegativePrompt, count)],
            Seed = r.Seed,
            AllSeeds = [.. SeedList.Seeds(r.Seed, count, r.SubseedStrength)],
            Subseed = r.Subseed,
            AllSubseeds = [.. SeedList.Subseeds(r.Subseed, count)],
            SubseedStrength = r.SubseedStrength,
            Width = r.Width,
            Height = r.Height,
            SamplerName = outcome.Result.Sampler.Name,
            CfgScale = r.CfgScale,
            Steps = r.Steps,
            BatchSize = r.BatchSize,
            SdModelName = outcome.Checkpoint.NameForExtra,
            SdModelHash = outcome.Checkpoint.ShortHash,
            SeedResizeFromW = r.SeedResizeFromW,
            SeedResizeFromH = r.SeedResizeFromH,
            DenoisingStrength = body.DenoisingStrength,
            ExtraGenerationParams = extra,
            Infotexts = [.. images.Select(i => i.Infotext.Text)],
            Styles = body.Styles ?? [],
            JobTimestamp = outcome.JobTimestamp,
            ClipSkip = job.Settings.ClipStopAtLastLayers,
            IsUsingInpaintingConditioning = outcome.InpaintingModel,
            Version = InfotextFactory.SdSharpVersion,
        };
    }
}

/// <summary>A1111's task ids: "task(" + 15 random letters and digits + ")".</summary>
internal static class TaskIds
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    public static string Create(string kind) =>
        $"task({kind}-{string.Create(15, 0, (span, _) => { for (int i = 0; i < span.Length; i++) span[i] = Alphabet[Random.Shared.Next(Alphabet.Length)]; })})";
}
