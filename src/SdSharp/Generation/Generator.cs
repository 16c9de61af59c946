using System.Globalization;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using SdSharp.Imaging.Ops;
using SdSharp.Models;
using SdSharp.Sampling;
using SdSharp.Sampling.Random;
using SdSharp.Tensors;
using SdSharp.Text.Conditioning;
using SdSharp.Text.Prompts;

namespace SdSharp.Generation;

/// <summary>Progress of a generation: which image batch, which step, and (when asked for) a preview of the estimate.</summary>
public readonly record struct GenerationProgress(int Batch, int Batches, int Step, int Steps, string Phase, Func<Image>? Preview);

/// <summary>One generated image with the seeds that made it and its A1111 infotext.</summary>
public sealed record GeneratedImage(Image Image, long Seed, long Subseed, ImageInfotext Infotext, float[]? Latent, int[] LatentShape);

/// <summary>A checkpoint loaded for the refiner hand-off, with the title the infotext names it by (A1111's "name [hash]").</summary>
public sealed record RefinerModel(StableDiffusionModel Model, string Title);

public sealed record GenerationResult(IReadOnlyList<GeneratedImage> Images, GenerationRequest Request, SamplerInfo Sampler, ScheduleType Schedule)
{
    /// <summary>What the user should hear about (LoRAs not found, LoRA keys that match no layer, ...).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The time taken to apply the prompt's LoRAs and hypernetworks (reading and merging them).</summary>
    public TimeSpan AddonTime { get; init; }
}

/// <summary>
/// Turns a <see cref="GenerationRequest"/> into images with one loaded model, the way A1111's process_images
/// does: seeds per image, the prompt schedule, the sampler's σ plan, guided denoising, VAE decode, infotext.
/// txt2img, img2img, inpainting (ordinary and 9-channel models), hires fix, batches, tiling.
/// </summary>
public sealed class Generator(StableDiffusionModel model)
{
    private IBackend Backend => model.Backend;

    public StableDiffusionModel Model => model;

    /// <summary>Model name and hash for the infotext (the file name without extension; first 10 hex of its sha256).</summary>
    public (string? Name, string? Hash) ModelIdentity { get; init; }

    /// <summary>
    /// Loads (or finds already loaded) the checkpoint a request names as its refiner; the caller owns the models.
    /// Null: requests that name a refiner are refused.
    /// </summary>
    public Func<string, RefinerModel>? Refiners { get; init; }

    public GenerationResult Generate(GenerationRequest request, Action<GenerationProgress>? progress = null, CancellationToken cancellation = default,
        GenerationStop? stop = null)
    {
        Validate(request);
        var (sampler, schedule) = SamplerInfo.Resolve(request.SamplerName ?? "Euler", request.Scheduler);
        int count = request.BatchSize * request.NIter;
        long seed = request.Seed < 0 ? System.Random.Shared.NextInt64(4294967294) : request.Seed;
        long subseed = request.Subseed < 0 ? System.Random.Shared.NextInt64(4294967294) : request.Subseed;
        long[] seeds = SeedList.Seeds(seed, count, request.SubseedStrength);
        long[] subseeds = SeedList.Subseeds(subseed, count);
        var images = new List<GeneratedImage>();
        var refiner = ResolveRefiner(request);
        var warnings = new List<string>();
        // A1111 activates the prompt's extra networks for the whole job and the model is itself again after it.
        long activating = System.Diagnostics.Stopwatch.GetTimestamp();
        using var addons = model.Addons.Activate(PromptPlanner.Plan(request.Prompt, "", 1).ExtraNetworks, warnings);
        TimeSpan addonTime = System.Diagnostics.Stopwatch.GetElapsedTime(activating);
        var tiling = request.Tiling ? PaddingMode.Circular : PaddingMode.Zeros;
        foreach (var m in refiner == null ? [model] : new[] { model, refiner.Model })
        {
            m.Unet.Padding.Mode = tiling;
            m.Vae.Padding.Mode = tiling;
        }
        for (int batch = 0; batch < request.NIter; batch++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (stop?.Interrupted == true) break;
            long[] batchSeeds = SeedList.Batch(seeds, batch, request.BatchSize);
            long[] batchSubseeds = SeedList.Batch(subseeds, batch, request.BatchSize);
            var pass = new Pass(this, request, refiner, sampler, schedule, batchSeeds, batchSubseeds, batch, progress, cancellation,
                stop?.BeginBatch() ?? CancellationToken.None, addons);
            images.AddRange(pass.Run());
        }
        return new GenerationResult(images, request with { Seed = seed, Subseed = subseed }, sampler, schedule) { Warnings = warnings, AddonTime = addonTime };
    }

    private static void Validate(GenerationRequest r)
    {
        if (r.Width < 8 || r.Height < 8 || r.Width % 8 != 0 || r.Height % 8 != 0)
            throw new InvalidInputException($"size {r.Width}×{r.Height}: width and height must be positive multiples of 8");
        if (r.Steps < 1 || r.Steps > 1000) throw new InvalidInputException($"steps {r.Steps}: must be between 1 and 1000");
        if (r.BatchSize < 1 || r.NIter < 1) throw new InvalidInputException("batch size and batch count must be at least 1");
        if (r.SubseedStrength < 0 || r.SubseedStrength > 1) throw new InvalidInputException($"variation strength {r.SubseedStrength}: must be between 0 and 1");
        if (r.DenoisingStrength is double d && (d < 0 || d > 1)) throw new InvalidInputException($"denoising strength {d}: must be between 0 and 1");
        if (r.ClipSkip < 1) throw new InvalidInputException($"clip skip {r.ClipSkip}: must be at least 1");
        if (r.Mask != null && (r.InitImages == null || r.InitImages.Count == 0)) throw new InvalidInputException("a mask needs an init image");
        if (r.RefinerSwitchAt is double at && (at < 0 || at > 1)) throw new InvalidInputException($"refiner switch at {at}: must be between 0 and 1");
    }

    /// <summary>
    /// The request's refiner, if it names one (A1111 treats "" and "None" as none). It must share the base model's
    /// latent space: SD 1.x and 2.x latents mean the same, SDXL's differ. Naming the base model's own checkpoint is
    /// no hand-off, as in A1111.
    /// </summary>
    private RefinerModel? ResolveRefiner(GenerationRequest r)
    {
        if (string.IsNullOrEmpty(r.RefinerCheckpoint) || r.RefinerCheckpoint.Equals("none", StringComparison.OrdinalIgnoreCase)) return null;
        if (Refiners == null) throw new InvalidInputException($"refiner {r.RefinerCheckpoint}: this front end cannot load a refiner");
        var refiner = Refiners(r.RefinerCheckpoint);
        static string Normal(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (Normal(refiner.Model.Checkpoint.Path) == Normal(model.Checkpoint.Path)) return null;
        static bool IsXl(ModelFamily f) => f is ModelFamily.SDXL or ModelFamily.SDXLRefiner;
        if (IsXl(refiner.Model.Family) != IsXl(model.Family))
            throw new InvalidInputException($"refiner {refiner.Title} ({refiner.Model.Family}) does not share the latent space of the base model ({model.Family})");
        return refiner;
    }

    /// <summary>One batch: its seeds, noise and conditioning, sampled (and possibly refined by a hires pass) and decoded.</summary>
    private sealed class Pass(Generator g, GenerationRequest r, RefinerModel? refiner, SamplerInfo sampler, ScheduleType schedule, long[] seeds, long[] subseeds,
        int batchIndex, Action<GenerationProgress>? progress, CancellationToken cancellation, CancellationToken stopped,
        Addons.AddonActivation addons)
    {
        private TextConditioner? _conditioner; // the first one made for the base model
        private StableDiffusionModel M => g.Model;
        private IBackend B => g.Backend;
        private int BatchSize => seeds.Length;
        private bool IsSdxl => M.Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner;
        private readonly ConditioningOptions _conditioningOptions = new() { ClipSkip = r.ClipSkip };
        /// <summary>The model whose VAE decodes: the refiner once it has taken over (A1111 has swapped it in by then).</summary>
        private StableDiffusionModel _decoder = g.Model;
        private bool _refined;

        public List<GeneratedImage> Run()
        {
            var kind = NoiseSources.Parse(r.Rng);
            bool img2img = r.InitImages is { Count: > 0 };
            double strength = r.DenoisingStrength ?? (img2img ? 0.75 : 0.7);
            var noise = new ImageNoise(kind, NoiseShape.ForImage(r.Width, r.Height), seeds, r.SubseedStrength > 0 ? subseeds : null,
                r.SubseedStrength, r.SeedResizeFromH, r.SeedResizeFromW, r.EtaNoiseSeedDelta);

            Img2ImgImages? prepared = img2img ? PrepareImages() : null;
            using var encoded = prepared == null ? null : EncodeInit(prepared, kind);
            using var initLatent = encoded == null ? null : MaskedContent(encoded, prepared!, kind);
            var plan = img2img
                ? SamplingPlan.Img2Img(sampler, schedule, r.Steps, strength, NoiseSchedule.StableDiffusion, isSdxl: IsSdxl)
                : SamplingPlan.Txt2Img(sampler, schedule, r.Steps, NoiseSchedule.StableDiffusion, isSdxl: IsSdxl);

            int promptSteps = PromptSteps(plan);
            var promptPlan = PromptPlanner.Plan(r.Prompt, r.NegativePrompt, promptSteps);
            using var firstNoise = Upload(noise.Next(), noise.Shape);
            Tensor latent;
            using (var blend = InpaintSetup(prepared, initLatent, out Tensor? imageConditioning))
            using (imageConditioning)
            {
                using var start = plan.StartLatent(firstNoise, initLatent);
                // With hires fix the refiner runs in the second pass only (A1111's default "Hires fix: which pass the refiner runs on").
                bool hires = r.EnableHr && !img2img;
                latent = Sample(plan, start, promptPlan, noise, kind, imageConditioning, blend, r.Width, r.Height, "sampling", refine: !hires);
            }
            using (latent)
            {
                Tensor final = latent;
                Tensor? hires = null;
                // A1111 leaves out the hires pass of a batch that was interrupted or skipped.
                if (r.EnableHr && !img2img && !stopped.IsCancellationRequested)
                {
                    hires = HiresPass(latent, noise, kind, strength);
                    final = hires;
                }
                using (hires)
                    return Decode(final, prepared);
            }
        }

        /// <summary>A1111 schedules prompts over the model calls: second-order samplers call twice per step.</summary>
        private int PromptSteps(SamplingPlan plan) => plan.Steps * (sampler.SecondOrder ? 2 : 1);

        /// <summary>
        /// Samples from <paramref name="start"/> along the plan; with <paramref name="refine"/> and a refiner in the
        /// request, the refiner takes over part-way. <paramref name="imageConditioning"/> goes to inpainting models.
        /// </summary>
        private Tensor Sample(SamplingPlan plan, Tensor start, PromptPlan promptPlan, ImageNoise noise, NoiseSourceKind kind,
            Tensor? imageConditioning, InpaintBlend? blend, int width, int height, string phase, bool refine)
        {
            using var network = Network(M, plan, promptPlan, imageConditioning, width, height);
            using var refinerNetwork = refine && refiner != null ? Network(refiner.Model, plan, promptPlan, imageConditioning, width, height) : null;
            var handOff = refinerNetwork == null ? null : new RefinerHandOff(refinerNetwork, r.RefinerSwitchAt);
            var denoiser = new GuidedDenoiser(network, r.CfgScale, BatchSize, blend, handOff);
            var samplerNoise = new SamplerNoise(kind, seeds, noise.Shape, noise.Next, images => Upload(images, noise.Shape));
            using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellation, stopped);
            Tensor? estimate = null; // the latest x0 estimate, what a stopped batch decodes (A1111's last_latent)
            var context = new SamplerContext
            {
                Denoiser = denoiser,
                Noise = samplerNoise,
                Options = SamplerOptions.FromRequest(r),
                Cancellation = sampling.Token,
                Progress = p =>
                {
                    if (stopped.CanBeCanceled)
                    {
                        estimate?.Dispose();
                        estimate = B.Affine(p.Denoised, 1f);
                    }
                    progress?.Invoke(new GenerationProgress(batchIndex, r.NIter, p.Step, p.Total, phase, () => PreviewImage(p.Denoised)));
                },
            };
            Tensor result;
            try
            {
                result = plan.Run(context, start);
            }
            catch (OperationCanceledException) when (stopped.IsCancellationRequested && !cancellation.IsCancellationRequested)
            {
                result = estimate ?? B.Affine(start, 1f);
                estimate = null;
            }
            finally
            {
                estimate?.Dispose();
            }
            if (denoiser.Refined)
            {
                _refined = true;
                _decoder = refiner!.Model;
            }
            if (blend == null) return result;
            using (result) return blend.Apply(result);
        }

        /// <summary>A model's UNet with this request's conditioning for it, as the denoiser evaluates it.</summary>
        private DenoisingNetwork Network(StableDiffusionModel model, SamplingPlan plan, PromptPlan promptPlan, Tensor? imageConditioning, int width, int height)
        {
            var vector = model.Family switch
            {
                ModelFamily.SDXL => VectorConditioning.ForSdxl(B, width, height),
                ModelFamily.SDXLRefiner => VectorConditioning.ForRefiner(B, width, height),
                _ => null,
            };
            var prediction = model.Checkpoint.Prediction == PredictionType.V ? Prediction.V : Prediction.Epsilon;
            var conditioner = model.CreateConditioner(_conditioningOptions);
            if (model == M) _conditioner ??= conditioner; // the infotext's TI hashes name the base model's first encoding
            var conditioning = conditioner.Condition(promptPlan);
            return new DenoisingNetwork(model.Unet, conditioning, plan.Wrapper(prediction), vector,
                model.Checkpoint.IsInpainting ? imageConditioning : null);
        }

        /// <summary>Whether an inpainting model (base or refiner) takes part, so the mask channels are needed.</summary>
        private bool AnyInpaintingModel => M.Checkpoint.IsInpainting || refiner?.Model.Checkpoint.IsInpainting == true;

        // ---- img2img and inpainting ----

        private Img2ImgImages PrepareImages()
        {
            var init = r.InitImages![0];
            var options = new Img2ImgImageOptions
            {
                Width = r.Width,
                Height = r.Height,
                ResizeMode = (ImageResizeMode)r.ResizeMode,
                MaskBlurX = r.MaskBlurX,
                MaskBlurY = r.MaskBlurY,
                MaskRound = r.MaskRound,
                InpaintingFill = (MaskedContent)r.InpaintingFill,
                InpaintFullRes = r.InpaintFullRes,
                InpaintFullResPadding = r.InpaintFullResPadding,
                InvertMask = r.InpaintingMaskInvert == 1,
            };
            return Img2ImgImagePreparation.Prepare(init, r.Mask, options);
        }

        /// <summary>
        /// The init latent: the VAE's posterior sampled with a generator seeded by the image's seed (A1111 samples it
        /// with torch's unseeded global generator, so no tool reproduces it exactly; this keeps the sampler's noise
        /// stream where A1111's is), scaled, repeated for the batch; resize mode 3 interpolates it to size.
        /// </summary>
        private Tensor EncodeInit(Img2ImgImages prepared, NoiseSourceKind kind)
        {
            using var pixels = ImageTensors.ToTensor(B, prepared.Image);
            using var distribution = M.Vae.Encode(pixels);
            var items = new List<Tensor>();
            try
            {
                foreach (long s in seeds)
                {
                    var shape = distribution.Mean.Shape;
                    var values = NoiseSources.RandnLocal(kind, s, checked((int)distribution.Mean.ElementCount));
                    using var eps = B.FromHost(ImageTensors.ChwToHwc(values, shape[3], shape[1], shape[2]), shape);
                    using var sample = distribution.Sample(eps);
                    items.Add(M.Vae.ToLatent(sample));
                }
                using var stacked = B.Concat(items, 0);
                int h = r.Height / 8, w = r.Width / 8;
                return stacked.Shape[1] == h && stacked.Shape[2] == w ? B.Affine(stacked, 1f) : B.Resize(stacked, h, w, ResizeMode.Bilinear);
            }
            finally
            {
                foreach (var t in items) t.Dispose();
            }
        }

        /// <summary>
        /// A1111's "latent noise" (2) and "latent nothing" (3) masked content: the masked area of the init latent
        /// becomes fresh noise from each image's seed, or zeros. "fill" (0) and "original" (1) work on the image.
        /// </summary>
        private Tensor MaskedContent(Tensor initLatent, Img2ImgImages prepared, NoiseSourceKind kind)
        {
            if (prepared.LatentMask is not LatentMask mask || r.InpaintingFill is not (2 or 3)) return B.Affine(initLatent, 1f);
            using var paint = LatentMaskTensor(mask);
            using var keep = B.Affine(paint, -1f, 1f);
            using var kept = B.Binary(initLatent, BinaryOp.Multiply, keep);
            if (r.InpaintingFill == 3) return B.Affine(kept, 1f);
            var shape = initLatent.Shape;
            var noise = new float[shape.ElementCount];
            int per = (int)(noise.Length / BatchSize);
            for (int b = 0; b < BatchSize; b++)
                ImageTensors.ChwToHwc(NoiseSources.RandnLocal(kind, seeds[b], per), shape[3], shape[1], shape[2]).CopyTo(noise, b * per);
            using var fresh = B.FromHost(noise, shape);
            using var painted = B.Binary(fresh, BinaryOp.Multiply, paint);
            return B.Axpby(1f, kept, 1f, painted);
        }

        /// <summary>The latent-size mask (1 where repainted) for every image of the batch, [batch, h, w, 4].</summary>
        private Tensor LatentMaskTensor(LatentMask mask)
        {
            int h = mask.Height, w = mask.Width;
            var paint = new float[BatchSize * h * w * 4];
            for (int b = 0; b < BatchSize; b++)
                for (int i = 0; i < h * w; i++)
                    for (int c = 0; c < 4; c++) paint[(b * h * w + i) * 4 + c] = mask.Values[i];
            return B.FromHost(paint, new Shape(BatchSize, h, w, 4));
        }

        /// <summary>
        /// The mask's part: 9-channel inpainting models get [mask, masked-image latent] as extra input channels;
        /// ordinary models blend the unmasked area back after every call (and A1111's latent noise/nothing fills).
        /// </summary>
        private InpaintBlend? InpaintSetup(Img2ImgImages? prepared, Tensor? initLatent, out Tensor? imageConditioning)
        {
            imageConditioning = null;
            if (AnyInpaintingModel) imageConditioning = InpaintingConditioning(prepared);
            if (prepared?.LatentMask is not LatentMask mask || initLatent == null) return null;
            var maskTensor = LatentMaskTensor(mask);
            var keep = B.Affine(maskTensor, -1f, 1f);
            return new InpaintBlend(B, B.Affine(initLatent, 1f), maskTensor, keep);
        }

        /// <summary>A1111's inpainting conditioning: the mask at latent size and the latent of the image with the masked area grey.</summary>
        private Tensor InpaintingConditioning(Img2ImgImages? prepared)
        {
            int h = r.Height / 8, w = r.Width / 8;
            if (prepared?.Mask is not Image mask)
            {
                // txt2img with an inpainting model: everything is "masked", the masked image is zeros (A1111's txt2img_image_conditioning).
                using var ones = B.Full(new Shape(BatchSize, h, w, 1), 1f);
                using var zeros = B.Full(new Shape(BatchSize, h, w, 4), 0f);
                return B.Concat([ones, zeros], -1);
            }
            float[] full = InpaintMask.ToConditioning(mask);
            using var fullMask = B.FromHost(full, new Shape(1, mask.Height, mask.Width, 1));
            using var maskedPixels = ImageTensors.ToTensor(B, prepared.Image);
            using var inverse = B.Affine(fullMask, -1f, 1f);
            using var masked = B.Binary(maskedPixels, BinaryOp.Multiply, inverse); // image in [-1, 1] · (1 − mask): masked area 0 (grey)
            using var distribution = M.Vae.Encode(masked);
            using var mode = distribution.Mode();
            using var maskedLatent = M.Vae.ToLatent(mode);
            using var smallMask = B.Resize(fullMask, h, w, ResizeMode.Nearest); // F.interpolate's default mode, as A1111 and diffusers use it
            using var single = B.Concat([smallMask, maskedLatent], -1);
            return B.Concat(Enumerable.Repeat(single, BatchSize).ToList(), 0);
        }

        // ---- hires fix ----

        /// <summary>
        /// The second pass: upscale the first pass's latent (in latent space, or decode → resize → encode), then run
        /// img2img over it with the hires steps and denoising strength, at the target size.
        /// </summary>
        private Tensor HiresPass(Tensor latent, ImageNoise noise, NoiseSourceKind kind, double strength)
        {
            var (width, height) = HiresSize();
            string upscaler = r.HrUpscaler ?? "Latent";
            Tensor upscaled;
            if (upscaler.StartsWith("Latent", StringComparison.Ordinal))
            {
                var mode = upscaler.Contains("nearest", StringComparison.OrdinalIgnoreCase) ? ResizeMode.Nearest : ResizeMode.Bilinear;
                upscaled = B.Resize(latent, height / 8, width / 8, mode);
            }
            else
            {
                using var unscaled = M.Vae.FromLatent(latent);
                using var decoded = M.Vae.Decode(unscaled);
                var items = new List<Tensor>();
                try
                {
                    for (int b = 0; b < BatchSize; b++)
                    {
                        using var one = B.Slice(decoded, 0, b, 1);
                        var image = PillowResize.Resize(ImageTensors.ToImage(one), width, height, ResampleFilter.Lanczos);
                        using var pixels = ImageTensors.ToTensor(B, image);
                        using var distribution = M.Vae.Encode(pixels);
                        using var mode = distribution.Mode();
                        items.Add(M.Vae.ToLatent(mode));
                    }
                    upscaled = B.Concat(items, 0);
                }
                finally
                {
                    foreach (var t in items) t.Dispose();
                }
            }
            using (upscaled)
            {
                var hrSampler = r.HrSamplerName == null ? sampler : SamplerInfo.Resolve(r.HrSamplerName, r.HrScheduler).Sampler;
                var hrSchedule = r.HrScheduler == null ? schedule : SamplerInfo.Resolve(r.HrSamplerName ?? sampler.Name, r.HrScheduler).Schedule;
                int steps = r.HrSecondPassSteps > 0 ? r.HrSecondPassSteps : r.Steps;
                var plan = SamplingPlan.Img2Img(hrSampler, hrSchedule, steps, strength, NoiseSchedule.StableDiffusion, fixSteps: true, isSdxl: IsSdxl);
                // A1111 draws the hires noise from fresh generators with the same seeds.
                var hrNoise = new ImageNoise(kind, NoiseShape.ForImage(width, height), seeds, r.SubseedStrength > 0 ? subseeds : null,
                    r.SubseedStrength, 0, 0, r.EtaNoiseSeedDelta);
                using var first = Upload(hrNoise.Next(), hrNoise.Shape);
                using var start = plan.StartLatent(first, upscaled);
                string prompt = r.HrPrompt.Length > 0 ? r.HrPrompt : r.Prompt, negative = r.HrNegativePrompt.Length > 0 ? r.HrNegativePrompt : r.NegativePrompt;
                var promptPlan = PromptPlanner.Plan(prompt, negative, plan.Steps * (hrSampler.SecondOrder ? 2 : 1));
                Tensor? imageConditioning = AnyInpaintingModel ? InpaintingConditioningAt(width, height) : null;
                using (imageConditioning)
                    return Sample(plan, start, promptPlan, hrNoise, kind, imageConditioning, null, width, height, "hires", refine: true);
            }
        }

        private Tensor InpaintingConditioningAt(int width, int height)
        {
            using var ones = B.Full(new Shape(BatchSize, height / 8, width / 8, 1), 1f);
            using var zeros = B.Full(new Shape(BatchSize, height / 8, width / 8, 4), 0f);
            return B.Concat([ones, zeros], -1);
        }

        /// <summary>A1111: hr_resize_x/y when given (one may be derived from the other), else the scale, rounded to 8.</summary>
        private (int Width, int Height) HiresSize()
        {
            int w, h;
            if (r.HrResizeX == 0 && r.HrResizeY == 0)
            {
                w = (int)(r.Width * r.HrScale);
                h = (int)(r.Height * r.HrScale);
            }
            else if (r.HrResizeY == 0)
            {
                w = r.HrResizeX;
                h = r.HrResizeX * r.Height / r.Width;
            }
            else if (r.HrResizeX == 0)
            {
                h = r.HrResizeY;
                w = r.HrResizeY * r.Width / r.Height;
            }
            else (w, h) = (r.HrResizeX, r.HrResizeY);
            return (w / 8 * 8, h / 8 * 8);
        }

        // ---- decoding and output ----

        private List<GeneratedImage> Decode(Tensor latent, Img2ImgImages? prepared)
        {
            float[] latentValues = latent.ToArray();
            int[] latentShape = latent.Shape.ToArray();
            var result = new List<GeneratedImage>();
            using var unscaled = _decoder.Vae.FromLatent(latent);
            for (int b = 0; b < BatchSize; b++)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Invoke(new GenerationProgress(batchIndex, r.NIter, 0, 1, "decoding", null));
                using var one = B.Slice(unscaled, 0, b, 1);
                using var decoded = _decoder.Vae.Decode(one);
                var image = ImageTensors.ToImage(decoded);
                if (prepared != null) image = InpaintOverlay.Apply(image, prepared.PasteTo, prepared.Overlay);
                int per = latentValues.Length / BatchSize;
                result.Add(new GeneratedImage(image, seeds[b], subseeds[b], Infotext(b), latentValues[(b * per)..((b + 1) * per)],
                    [1, .. latentShape[1..]]));
            }
            return result;
        }

        private ImageInfotext Infotext(int index)
        {
            var facts = new InfotextFacts
            {
                Seed = seeds[index],
                Subseed = subseeds[index],
                ModelName = g.ModelIdentity.Name,
                ModelHash = g.ModelIdentity.Hash,
                Refiner = _refined ? refiner!.Title : null,
                DenoisingStrength = r.InitImages is { Count: > 0 } || r.EnableHr ? r.DenoisingStrength ?? (r.EnableHr ? 0.7 : 0.75) : null,
                Loras = addons.Loras,
                Embeddings = _conditioner == null ? [] : M.Addons.EmbeddingHashes(_conditioner.UsedEmbeddings),
                VaeName = M.VaePath == null ? null : Path.GetFileName(M.VaePath),
                VaeHash = M.VaePath == null ? null : ModelHashes.Default.ShortHash(M.VaePath),
            };
            return InfotextFactory.Create(r, facts);
        }

        private Image PreviewImage(Tensor denoised)
        {
            using var one = B.Slice(denoised, 0, 0, 1);
            using var unscaled = M.Vae.FromLatent(one);
            using var decoded = M.Vae.Decode(unscaled);
            return ImageTensors.ToImage(decoded);
        }

        /// <summary>Per-image (C, H, W) noise arrays → one [batch, H, W, C] latent.</summary>
        private Tensor Upload(float[][] perImage, NoiseShape shape)
        {
            int hw = shape.Height * shape.Width, c = shape.Channels;
            var values = new float[perImage.Length * shape.Count];
            for (int b = 0; b < perImage.Length; b++)
                ImageTensors.ChwToHwc(perImage[b], c, shape.Height, shape.Width).CopyTo(values, b * hw * c);
            return B.FromHost(values, new Shape(perImage.Length, shape.Height, shape.Width, c));
        }
    }
}

/// <summary>Conversions between 8-bit images and the [-1, 1] NHWC tensors the VAE works with.</summary>
public static class ImageTensors
{
    /// <summary>RGB bytes → [1, H, W, 3] in [-1, 1] (alpha dropped, as PIL's convert("RGB")).</summary>
    public static Tensor ToTensor(IBackend backend, Image image)
    {
        var rgb = image.Channels == 3 ? image : image.ToRgb();
        var values = new float[rgb.Pixels.Length];
        for (int i = 0; i < values.Length; i++) values[i] = rgb.Pixels[i] / 127.5f - 1f;
        return backend.FromHost(values, new Shape(1, rgb.Height, rgb.Width, 3));
    }

    /// <summary>
    /// [1, H, W, 3] in [-1, 1] → RGB bytes as A1111 makes them: clamp((x + 1)/2, 0, 1)·255, truncated to an integer.
    /// </summary>
    public static Image ToImage(Tensor decoded)
    {
        int h = decoded.Shape[1], w = decoded.Shape[2];
        float[] values = decoded.ToArray();
        var pixels = new byte[h * w * 3];
        for (int i = 0; i < pixels.Length; i++)
        {
            float v = Math.Clamp((values[i] + 1f) / 2f, 0f, 1f);
            pixels[i] = (byte)(255f * v);
        }
        return new Image(w, h, 3, pixels);
    }

    /// <summary>(C, H, W) → (H, W, C).</summary>
    public static float[] ChwToHwc(float[] chw, int channels, int height, int width)
    {
        var hwc = new float[chw.Length];
        int hw = height * width;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < hw; i++) hwc[i * channels + c] = chw[c * hw + i];
        return hwc;
    }
}
