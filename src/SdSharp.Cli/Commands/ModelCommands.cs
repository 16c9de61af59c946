using System.CommandLine;
using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.IO;
using SdSharp.Models;

namespace SdSharp.Cli.Commands;

/// <summary><c>sdsharp model inspect PATH [--json]</c>: what a model file or folder holds.</summary>
internal static class ModelCommands
{
    public static Command Create(CliConsole console)
    {
        var path = new Argument<string>("path") { Description = "A .safetensors/.ckpt/.pt/.bin file or a diffusers folder." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var inspect = new Command("inspect", "Show a model's format, tensors, element types and parameter count.") { path, json };
        inspect.SetAction(parse =>
        {
            string target = parse.GetValue(path)!;
            using TensorFile file = ModelFiles.Open(target);
            var summary = ModelSummary.Of(file);
            // The file reads; whether it is a usable checkpoint is part of the report, not a failure of it.
            Checkpoint? checkpoint = null;
            string? problem = null;
            try
            {
                checkpoint = Checkpoint.Open(target);
                if (checkpoint.PredictionSource == "undecided")
                {
                    using var cpu = new CpuBackend();
                    checkpoint.RunPredictionTest(cpu);
                }
            }
            catch (ModelFormatException e)
            {
                checkpoint?.Dispose();
                checkpoint = null;
                problem = e.Message;
            }
            using (checkpoint)
            {
                if (parse.GetValue(json)) WriteJson(console.Out, file, summary, checkpoint, problem);
                else WriteText(console.Out, file, summary, checkpoint, problem);
            }
            return 0;
        });
        return new Command("model", "Inspect model files.") { inspect };
    }

    private static void WriteText(TextWriter output, TensorFile file, ModelSummary summary, Checkpoint? checkpoint, string? notCheckpoint)
    {
        output.WriteLine($"{file.Path}");
        output.WriteLine($"  {summary}");
        if (checkpoint != null)
        {
            output.WriteLine($"  model: {Describe(checkpoint)}");
            foreach (var (name, map) in Networks(checkpoint))
                output.WriteLine($"  {name}: {Parameters(map)} parameters ({map.Description})");
        }
        else if (notCheckpoint != null) output.WriteLine($"  not usable as a checkpoint: {notCheckpoint}");
        if (file is DiffusersFolder folder)
            foreach (var component in folder.Components)
                output.WriteLine($"  component {component.Name}: {component.Library} {component.ClassName}");
        foreach (var (key, value) in file.Metadata.Take(20))
            output.WriteLine($"  metadata {key}: {Shorten(value)}");
    }

    private static string Describe(Checkpoint c)
    {
        var u = c.UnetConfig;
        string kind = $"{Checkpoint.Describe(c.Family)}{(c.IsInpainting ? " inpainting" : "")}";
        string prediction = c.Prediction == PredictionType.V ? "v-prediction" : "ε-prediction";
        return $"{kind}, {prediction} ({c.PredictionSource}); UNet {string.Join("/", u.LevelChannels)} channels, context {u.ContextDim}";
    }

    private static IEnumerable<(string Name, Models.Weights.WeightMap Map)> Networks(Checkpoint c)
    {
        yield return ("unet", c.Unet);
        if (c.Vae != null) yield return ("vae", c.Vae);
        if (c.TextEncoder != null) yield return ("text_encoder", c.TextEncoder);
        if (c.TextEncoder2 != null) yield return ("text_encoder_2", c.TextEncoder2);
    }

    private static string Parameters(Models.Weights.WeightMap map)
    {
        long n = 0;
        foreach (string name in map.Names) n += map.ShapeOf(name)!.Aggregate(1L, (a, d) => a * d);
        return n >= 1_000_000 ? FormattableString.Invariant($"{n / 1e6:0.#} M") : FormattableString.Invariant($"{n / 1e3:0.#} k");
    }

    private static void WriteJson(TextWriter output, TensorFile file, ModelSummary summary, Checkpoint? checkpoint, string? notCheckpoint)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("path", file.Path);
            w.WriteString("format", summary.Format);
            w.WriteNumber("tensors", summary.TensorCount);
            w.WriteNumber("parameters", summary.ParameterCount);
            w.WriteNumber("bytes", summary.ByteCount);
            w.WriteStartObject("tensors_by_type");
            foreach (var (type, count) in summary.TensorsByType) w.WriteNumber(type.SafetensorsName(), count);
            w.WriteEndObject();
            if (file is DiffusersFolder folder)
            {
                w.WriteStartObject("components");
                foreach (var c in folder.Components) w.WriteString(c.Name, $"{c.Library}.{c.ClassName}");
                w.WriteEndObject();
            }
            if (checkpoint != null)
            {
                w.WriteStartObject("model");
                w.WriteString("family", checkpoint.Family.ToString());
                w.WriteBoolean("inpainting", checkpoint.IsInpainting);
                w.WriteString("prediction", checkpoint.Prediction == PredictionType.V ? "v" : "eps");
                w.WriteString("prediction_source", checkpoint.PredictionSource);
                w.WriteStartArray("unet_channels");
                foreach (int ch in checkpoint.UnetConfig.LevelChannels) w.WriteNumberValue(ch);
                w.WriteEndArray();
                w.WriteNumber("context_dim", checkpoint.UnetConfig.ContextDim);
                w.WriteStartArray("networks");
                foreach (var (name, _) in Networks(checkpoint)) w.WriteStringValue(name);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else if (notCheckpoint != null) w.WriteString("not_a_checkpoint", notCheckpoint);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in file.Metadata) w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string Shorten(string value) => value.Length <= 120 ? value.ReplaceLineEndings(" ") : value[..117].ReplaceLineEndings(" ") + "...";
}
