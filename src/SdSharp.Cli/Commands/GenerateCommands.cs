using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SdSharp.Addons;
using SdSharp.Generation;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Tensors;

namespace SdSharp.Cli.Commands;

/// <summary>
/// <c>sdsharp txt2img | img2img | inpaint</c>: one set of options (A1111's knobs, with the web UI's defaults),
/// one <see cref="GenerationRequest"/>, one <see cref="Generator"/>.
/// </summary>
internal static class GenerateCommands
{
    public static IEnumerable<Command> Create(CliConsole console)
    {
        yield return Build(console, "txt2img", "Generate images from a prompt.", GenerationMode.Text);
        yield return Build(console, "img2img", "Repaint an image guided by a prompt.", GenerationMode.Image);
        yield return Build(console, "inpaint", "Repaint the masked part of an image.", GenerationMode.Inpaint);
    }

    private enum GenerationMode { Text, Image, Inpaint }

    private sealed class Options
    {
        public readonly Option<string?> Model = new("--model", "-m") { Description = "Checkpoint file or diffusers folder (default: the bundled model)." };
        public readonly Option<string> Prompt = new("--prompt", "-p") { Description = "The prompt (A1111 syntax: (emphasis:1.2), [from:to:when], AND, BREAK).", DefaultValueFactory = _ => "" };
        public readonly Option<string> Negative = new("--negative-prompt", "-n") { Description = "The negative prompt.", DefaultValueFactory = _ => "" };
        public readonly Option<int> Steps = new("--steps") { Description = "Sampling steps.", DefaultValueFactory = _ => 20 };
        public readonly Option<double> Cfg = new("--cfg") { Description = "Classifier-free guidance scale.", DefaultValueFactory = _ => 7.0 };
        public readonly Option<string> Sampler = new("--sampler") { Description = "Sampler, A1111 names (\"DPM++ 2M\", \"Euler a\", legacy \"DPM++ 2M Karras\").", DefaultValueFactory = _ => "DPM++ 2M" };
        public readonly Option<string?> Scheduler = new("--scheduler") { Description = "Schedule type (Automatic, Karras, Exponential, SGM Uniform, ...)." };
        public readonly Option<long> Seed = new("--seed") { Description = "Seed; -1 is random.", DefaultValueFactory = _ => -1 };
        public readonly Option<long> Subseed = new("--subseed") { Description = "Variation seed; -1 is random.", DefaultValueFactory = _ => -1 };
        public readonly Option<double> SubseedStrength = new("--subseed-strength") { Description = "Variation strength, 0..1." };
        public readonly Option<int?> Width = new("--width", "-W") { Description = "Width in pixels, a multiple of 8 (default: the model's native size)." };
        public readonly Option<int?> Height = new("--height", "-H") { Description = "Height in pixels, a multiple of 8 (default: the model's native size)." };
        public readonly Option<int> BatchSize = new("--batch-size") { Description = "Images per batch.", DefaultValueFactory = _ => 1 };
        public readonly Option<int> BatchCount = new("--batch-count") { Description = "Number of batches.", DefaultValueFactory = _ => 1 };
        public readonly Option<int> ClipSkip = new("--clip-skip") { Description = "Skip the last N-1 CLIP layers (SD 1.x).", DefaultValueFactory = _ => 1 };
        public readonly Option<string> Rng = new("--rng") { Description = "Noise source: cpu (torch CPU randn), nv (A1111's Philox), gpu (alias of nv).", DefaultValueFactory = _ => "cpu" };
        public readonly Option<double?> Strength = new("--strength") { Description = "Denoising strength for img2img and hires fix." };
        public readonly Option<string?> Init = new("--init", "-i") { Description = "Init image (PNG) for img2img and inpaint." };
        public readonly Option<string?> Mask = new("--mask") { Description = "Mask image (PNG): white is repainted." };
        public readonly Option<int> MaskBlur = new("--mask-blur") { Description = "Mask blur in pixels.", DefaultValueFactory = _ => 4 };
        public readonly Option<bool> InvertMask = new("--invert-mask") { Description = "Repaint the black part of the mask." };
        public readonly Option<int> Fill = new("--masked-content") { Description = "Masked content: 0 fill, 1 original, 2 latent noise, 3 latent nothing.", DefaultValueFactory = _ => 1 };
        public readonly Option<bool> OnlyMasked = new("--only-masked") { Description = "Inpaint only the masked area, at full resolution." };
        public readonly Option<int> OnlyMaskedPadding = new("--only-masked-padding") { Description = "Padding around the masked area, in pixels.", DefaultValueFactory = _ => 32 };
        public readonly Option<int> ResizeMode = new("--resize-mode") { Description = "0 just resize, 1 crop and resize, 2 resize and fill, 3 latent." };
        public readonly Option<bool> Hires = new("--hires") { Description = "Hires fix: generate small, upscale, refine." };
        public readonly Option<double> HiresScale = new("--hires-scale") { Description = "Hires upscale factor.", DefaultValueFactory = _ => 2.0 };
        public readonly Option<int> HiresSteps = new("--hires-steps") { Description = "Hires steps (0: same as --steps)." };
        public readonly Option<string> HiresUpscaler = new("--hires-upscaler") { Description = "Latent, Latent (nearest), or Lanczos.", DefaultValueFactory = _ => "Latent" };
        public readonly Option<string?> Refiner = new("--refiner") { Description = "A checkpoint that takes over part-way (SDXL refiner; any model of the same latent space)." };
        public readonly Option<double> RefinerSwitchAt = new("--refiner-switch-at") { Description = "Fraction of the noise schedule after which the refiner takes over.", DefaultValueFactory = _ => 0.8 };
        public readonly Option<bool> Tiling = new("--tiling") { Description = "Make the image tile seamlessly." };
        public readonly Option<string> Device = new("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
        public readonly Option<string> Precision = new("--precision") { Description = "GPU precision: fp16, bf16 or fp32.", DefaultValueFactory = _ => "fp16" };
        public readonly Option<string?> Output = new("--output", "-o") { Description = "Output file (.png) or folder (default: outputs/<mode>-images/<date>)." };
        public readonly Option<string?> LatentsOut = new("--latents-out") { Description = "Also write the final latents (before decoding) as safetensors." };
        public readonly Option<string?> FromPng = new("--from-png") { Description = "Take the parameters from an A1111 PNG's infotext (options given here win)." };
        public readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "CLIP tokenizer for single-file models (bpe_simple_vocab_16e6.txt.gz or a folder)." };
        public readonly Option<string?> Prediction = new("--prediction") { Description = "Override the detected prediction type: v or eps." };
        public readonly Option<string[]> Lora = new("--lora") { Description = "FILE[:WEIGHT]: apply this LoRA as if <lora:NAME:WEIGHT> were in the prompt (repeatable; weight 1 by default)." };
        public readonly Option<string?> LoraDir = new("--lora-dir") { Description = "Folder of LoRAs for <lora:NAME:WEIGHT> (default: Lora beside the model)." };
        public readonly Option<string?> EmbeddingsDir = new("--embeddings-dir") { Description = "Folder of textual-inversion embeddings (default: embeddings beside the model)." };
        public readonly Option<string?> HypernetworkDir = new("--hypernetwork-dir") { Description = "Folder of hypernetworks for <hypernet:NAME:WEIGHT> (default: hypernetworks beside the model)." };
        public readonly Option<string?> Vae = new("--vae") { Description = "A VAE file to use instead of the checkpoint's own." };
        public readonly Option<bool> VaeTiling = new("--vae-tiling")
        {
            Description = "Encode and decode in overlapping tiles of the VAE's training size, as diffusers' enable_tiling (less memory for large images; without it the VAE tiles only when an image does not fit).",
        };

        public IEnumerable<Option> All() =>
        [
            Model, Prompt, Negative, Steps, Cfg, Sampler, Scheduler, Seed, Subseed, SubseedStrength, Width, Height, BatchSize, BatchCount,
            ClipSkip, Rng, Strength, Init, Mask, MaskBlur, InvertMask, Fill, OnlyMasked, OnlyMaskedPadding, ResizeMode, Hires, HiresScale,
            HiresSteps, HiresUpscaler, Refiner, RefinerSwitchAt, Tiling, Device, Precision, Output, LatentsOut, FromPng, Tokenizer, Prediction,
            Lora, LoraDir, EmbeddingsDir, HypernetworkDir, Vae, VaeTiling,
        ];
    }

    private static Command Build(CliConsole console, string name, string description, GenerationMode mode)
    {
        var o = new Options();
        var command = new Command(name, description);
        foreach (var option in o.All()) command.Options.Add(option);
        command.SetAction((parse, token) => Task.FromResult(Run(console, parse, o, mode, name, token)));
        return command;
    }

    private static int Run(CliConsole console, ParseResult parse, Options o, GenerationMode mode, string name, CancellationToken token)
    {
        string modelPath = parse.GetValue(o.Model) ?? BundledModel.Path ?? throw new InvalidInputException("no model given (-m) and no bundled model found");
        var request = BuildRequest(parse, o, mode);
        var loras = (parse.GetValue(o.Lora) ?? []).Select(ParseLora).ToList();
        // --lora FILE:WEIGHT is the prompt's tag for that file: the infotext then names it and --from-png repeats it.
        foreach (var (file, weight) in loras)
            request = request with { Prompt = request.Prompt + $" <lora:{Path.GetFileNameWithoutExtension(file)}:{weight.ToString(CultureInfo.InvariantCulture)}>" };
        bool verbose = parse.GetValue<bool>("--verbose");
        if (request.Rng.Equals("gpu", StringComparison.OrdinalIgnoreCase))
            console.Error.WriteLine("note: --rng gpu uses the NV (Philox) generator; A1111's GPU noise comes from torch's CUDA generator and cannot be reproduced bit for bit");
        using var backend = Backends.Create(parse.GetValue(o.Device)!, DTypeInfo.Parse(parse.GetValue(o.Precision)!), console.Error);
        var load = new ModelLoadOptions
        {
            Tokenizer = parse.GetValue(o.Tokenizer),
            Checkpoint = new CheckpointOptions { Prediction = parse.GetValue(o.Prediction) is string p ? Checkpoint.ParsePrediction(p) ?? throw new InvalidInputException($"--prediction {p}: expected v or eps") : null },
            Vae = parse.GetValue(o.Vae) is string vae ? File.Exists(vae) ? vae : throw new InvalidInputException($"--vae {vae}: no such file") : null,
            Addons = AddonFoldersFor(parse, o, modelPath) with { LoraFiles = [.. loras.Select(l => l.File)] },
        };
        var watch = Stopwatch.StartNew();
        using var model = StableDiffusionModel.Load(modelPath, backend, load);
        using var refiner = request.RefinerCheckpoint is string refinerPath ? StableDiffusionModel.Load(refinerPath, backend, load) : null;
        bool vaeTiling = parse.GetValue(o.VaeTiling);
        foreach (var m in refiner == null ? [model] : new[] { model, refiner }) m.Vae.Tiling = vaeTiling;
        var generator = new Generator(model)
        {
            ModelIdentity = (ModelHashes.ModelName(modelPath), File.Exists(modelPath) ? ModelHashes.Default.ShortHash(modelPath) : null),
            Refiners = refiner == null ? null : path => new RefinerModel(refiner, CheckpointTitle(path)),
        };
        request = WithNativeSize(request, parse, o, model);
        if (!Console.IsErrorRedirected || verbose) console.Error.WriteLine($"{Checkpoint.Describe(model.Family)} model loaded on {backend.Name} in {watch.Elapsed.TotalSeconds:F1} s");

        var bar = new ProgressBar(console.Error, enabled: !Console.IsErrorRedirected);
        var steps = new StepTimes(verbose ? backend : null); // only --verbose prints them, and only then is waiting worth it
        GenerationResult result;
        try
        {
            result = generator.Generate(request, p =>
            {
                steps.Report(p);
                bar.Report(p);
            }, token);
        }
        finally
        {
            bar.Finish();
        }
        foreach (string warning in result.Warnings) console.Error.WriteLine("warning: " + warning.ReplaceLineEndings(" "));
        if (verbose)
        {
            console.Error.WriteLine(FormattableString.Invariant($"add-ons (LoRAs, hypernetworks) applied in {result.AddonTime.TotalSeconds:F3} s"));
            if (steps.PerStep is double perStep)
                console.Error.WriteLine(FormattableString.Invariant($"sampling: {perStep:F4} s/step (mean over {steps.Timed} steps after the first)"));
        }
        // Everything is computed before anything is written: an interrupted run leaves no partial output.
        var written = new List<string>();
        string? output = parse.GetValue(o.Output);
        string folder = output != null && !output.EndsWith(".png", StringComparison.OrdinalIgnoreCase)
            ? output
            : Path.Combine("outputs", $"{name}-images", DateTime.Now.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        for (int i = 0; i < result.Images.Count; i++)
        {
            var image = result.Images[i];
            if (output != null && output.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                string path = result.Images.Count == 1 ? output : Path.Combine(Path.GetDirectoryName(output) ?? "", $"{Path.GetFileNameWithoutExtension(output)}-{i}.png");
                ImageOutput.Save(path, image.Image, image.Infotext.Text);
                written.Add(path);
            }
            else written.Add(ImageOutput.SaveNumbered(folder, image.Image, image.Infotext.Text, image.Seed));
        }
        if (parse.GetValue(o.LatentsOut) is string latents) WriteLatents(latents, result);
        foreach (string path in written) console.Out.WriteLine(path);
        if (!Console.IsErrorRedirected) console.Error.WriteLine($"{result.Images.Count} image(s) in {watch.Elapsed.TotalSeconds:F1} s; seed {result.Request.Seed}");
        return 0;
    }

    /// <summary>
    /// --lora-dir, --embeddings-dir and --hypernetwork-dir, each defaulting to A1111's folder name in the folder that
    /// holds the model (the rule `sdsharp serve --models` uses).
    /// </summary>
    private static AddonFolders AddonFoldersFor(ParseResult parse, Options o, string modelPath)
    {
        var defaults = AddonFolders.In(Path.GetDirectoryName(Path.GetFullPath(modelPath).TrimEnd(Path.DirectorySeparatorChar)) ?? ".");
        return new AddonFolders
        {
            Loras = parse.GetValue(o.LoraDir) ?? defaults.Loras,
            Embeddings = parse.GetValue(o.EmbeddingsDir) ?? defaults.Embeddings,
            Hypernetworks = parse.GetValue(o.HypernetworkDir) ?? defaults.Hypernetworks,
        };
    }

    /// <summary>--lora FILE[:WEIGHT]; the weight is what follows the last colon when that is a number (Windows paths have colons).</summary>
    private static (string File, double Weight) ParseLora(string value)
    {
        string file = value;
        double weight = 1;
        int colon = value.LastIndexOf(':');
        if (colon > 0 && double.TryParse(value[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double w))
        {
            if (!double.IsFinite(w)) throw new InvalidInputException($"--lora {value}: the weight must be a finite number");
            (file, weight) = (value[..colon], w);
        }
        if (!File.Exists(file)) throw new InvalidInputException($"--lora {value}: no such file {file}");
        return (file, weight);
    }

    /// <summary>A checkpoint as A1111 titles it in the infotext: "name [short hash]" (the name alone for folders).</summary>
    private static string CheckpointTitle(string path) =>
        File.Exists(path) ? $"{ModelHashes.ModelName(path)} [{ModelHashes.Default.ShortHash(path)}]" : ModelHashes.ModelName(path);

    private static GenerationRequest BuildRequest(ParseResult parse, Options o, GenerationMode mode)
    {
        var request = new GenerationRequest();
        if (parse.GetValue(o.FromPng) is string png)
        {
            string? infotext = PngDecoder.ReadInfo(png).GetText("parameters") ?? throw new InvalidInputException($"{png}: no A1111 parameters in this PNG");
            request = InfotextRequest.From(InfotextParser.Parse(infotext)).Request;
        }
        // Options given on the command line win over the PNG's; their defaults do not.
        T Pick<T>(Option<T> option, T current) => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : parse.GetValue(o.FromPng) == null ? parse.GetValue(option)! : current;
        request = request with
        {
            Prompt = Pick(o.Prompt, request.Prompt),
            NegativePrompt = Pick(o.Negative, request.NegativePrompt),
            Steps = Pick(o.Steps, request.Steps),
            CfgScale = Pick(o.Cfg, request.CfgScale),
            SamplerName = Pick(o.Sampler, request.SamplerName ?? "DPM++ 2M"),
            Scheduler = Pick(o.Scheduler, request.Scheduler),
            Seed = Pick(o.Seed, request.Seed),
            Subseed = Pick(o.Subseed, request.Subseed),
            SubseedStrength = Pick(o.SubseedStrength, request.SubseedStrength),
            BatchSize = parse.GetValue(o.BatchSize),
            NIter = parse.GetValue(o.BatchCount),
            ClipSkip = Pick(o.ClipSkip, request.ClipSkip),
            Rng = Pick(o.Rng, request.Rng),
            Tiling = Pick(o.Tiling, request.Tiling),
            DenoisingStrength = parse.GetValue(o.Strength) ?? request.DenoisingStrength,
            EnableHr = Pick(o.Hires, request.EnableHr),
            HrScale = Pick(o.HiresScale, request.HrScale),
            HrSecondPassSteps = Pick(o.HiresSteps, request.HrSecondPassSteps),
            HrUpscaler = Pick(o.HiresUpscaler, request.HrUpscaler ?? "Latent"),
            // A PNG names its refiner by title, not by file: only --refiner loads one.
            RefinerCheckpoint = parse.GetValue(o.Refiner),
            RefinerSwitchAt = Pick(o.RefinerSwitchAt, request.RefinerSwitchAt ?? 0.8),
            ResizeMode = parse.GetValue(o.ResizeMode),
            MaskBlurX = parse.GetValue(o.MaskBlur),
            MaskBlurY = parse.GetValue(o.MaskBlur),
            InpaintingMaskInvert = parse.GetValue(o.InvertMask) ? 1 : 0,
            InpaintingFill = parse.GetValue(o.Fill),
            InpaintFullRes = parse.GetValue(o.OnlyMasked),
            InpaintFullResPadding = parse.GetValue(o.OnlyMaskedPadding),
        };
        if (parse.GetValue(o.Width) is int w) request = request with { Width = w };
        if (parse.GetValue(o.Height) is int h) request = request with { Height = h };
        if (mode != GenerationMode.Text)
        {
            string init = parse.GetValue(o.Init) ?? throw new InvalidInputException($"{(mode == GenerationMode.Inpaint ? "inpaint" : "img2img")} needs an init image (-i)");
            request = request with { InitImages = [PngDecoder.Decode(init).Image] };
        }
        if (mode == GenerationMode.Inpaint)
        {
            string mask = parse.GetValue(o.Mask) ?? throw new InvalidInputException("inpaint needs a mask (--mask)");
            request = request with { Mask = PngDecoder.Decode(mask).Image };
        }
        else if (parse.GetValue(o.Mask) != null) throw new InvalidInputException("--mask is for the inpaint command");
        return request;
    }

    /// <summary>Without -W/-H (and not taken from a PNG), generate at the model's native size.</summary>
    private static GenerationRequest WithNativeSize(GenerationRequest request, ParseResult parse, Options o, StableDiffusionModel model)
    {
        if (parse.GetValue(o.FromPng) != null && parse.GetValue(o.Width) == null && parse.GetValue(o.Height) == null) return request;
        if (request.InitImages is { Count: > 0 } init && parse.GetValue(o.Width) == null && parse.GetValue(o.Height) == null)
            return request with { Width = init[0].Width / 8 * 8, Height = init[0].Height / 8 * 8 };
        int native = model.NativeSize;
        return request with
        {
            Width = parse.GetValue(o.Width) ?? native,
            Height = parse.GetValue(o.Height) ?? native,
        };
    }

    private static void WriteLatents(string path, GenerationResult result)
    {
        var tensors = result.Images.Select((image, i) =>
            ($"latent_{i}", ElementType.F32, image.LatentShape.Select(d => (long)d).ToArray(),
             (ReadOnlyMemory<byte>)System.Runtime.InteropServices.MemoryMarshal.AsBytes(image.Latent.AsSpan()).ToArray())).ToList();
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["layout"] = "NHWC", ["seed"] = result.Request.Seed.ToString(CultureInfo.InvariantCulture) }, overwrite: true);
    }
}

/// <summary>The wall time of the base sampling pass's steps, for --verbose (the first step, which warms up, is left out).</summary>
internal sealed class StepTimes(IBackend? waitFor)
{
    private long _first, _last;
    private int _steps;

    /// <param name="p">A step has been issued. Its work may still be queued on a GPU: <c>waitFor</c> is waited for, so the times are the device's.</param>
    public void Report(GenerationProgress p)
    {
        if (p.Phase != "sampling" || p.Batch != 0) return;
        waitFor?.Synchronize();
        long now = Stopwatch.GetTimestamp();
        if (_steps++ == 0) _first = now;
        _last = now;
    }

    /// <summary>Steps timed: those after the first.</summary>
    public int Timed => Math.Max(0, _steps - 1);

    public double? PerStep => _steps < 2 ? null : Stopwatch.GetElapsedTime(_first, _last).TotalSeconds / (_steps - 1);
}

/// <summary>A one-line progress bar with steps per second and time left, on stderr when it is a terminal.</summary>
internal sealed class ProgressBar(TextWriter output, bool enabled)
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private int _calls;

    public void Report(GenerationProgress p)
    {
        if (!enabled || p.Steps <= 0) return;
        _calls++;
        double rate = _calls / Math.Max(_watch.Elapsed.TotalSeconds, 1e-9);
        int done = p.Step + 1, width = 30, filled = done * width / p.Steps;
        double left = (p.Steps - done) / Math.Max(rate, 1e-9);
        output.Write(FormattableString.Invariant(
            $"\r{p.Phase} {(p.Batches > 1 ? $"batch {p.Batch + 1}/{p.Batches} " : "")}[{new string('#', filled)}{new string('.', width - filled)}] {done}/{p.Steps} {rate:0.00} it/s, {left:0}s left   "));
    }

    public void Finish()
    {
        if (enabled && _calls > 0) output.WriteLine();
    }
}

/// <summary>Backend selection: CUDA when asked (or available for "auto"), otherwise the CPU, saying why in one line.</summary>
internal static class Backends
{
    public static IBackend Create(string device, DType precision, TextWriter log)
    {
        switch (device.ToLowerInvariant())
        {
            case "cpu":
                return new Cpu.CpuBackend();
            case "cuda":
                try
                {
                    return Cuda.CudaBackend.Create(precision);
                }
                catch (Cuda.Native.CudaUnavailableException e)
                {
                    throw new InvalidInputException($"--device cuda: {e.Message}");
                }
            case "auto":
                try
                {
                    return Cuda.CudaBackend.Create(precision);
                }
                catch (Cuda.Native.CudaUnavailableException e)
                {
                    log.WriteLine($"using the CPU: {e.Message}");
                    return new Cpu.CpuBackend();
                }
            default:
                throw new InvalidInputException($"--device {device}: expected auto, cpu or cuda");
        }
    }
}

/// <summary>The model shipped in the repository (models/), used when no -m is given.</summary>
internal static class BundledModel
{
    public const string Name = "tiny-shapes";

    /// <summary>models/sdsharp-shapes, found from the program's folder upwards (a checkout, or a published copy with models/ beside it).</summary>
    public static string? Path
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                string candidate = System.IO.Path.Combine(dir.FullName, "models", Name);
                if (File.Exists(System.IO.Path.Combine(candidate, "model_index.json"))) return candidate;
            }
            return null;
        }
    }
}
