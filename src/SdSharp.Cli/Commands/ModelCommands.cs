using System.CommandLine;
using System.Text.Json;
using SdSharp.IO;

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
            if (parse.GetValue(json)) WriteJson(console.Out, file, summary);
            else WriteText(console.Out, file, summary);
            return 0;
        });
        return new Command("model", "Inspect model files.") { inspect };
    }

    private static void WriteText(TextWriter output, TensorFile file, ModelSummary summary)
    {
        output.WriteLine($"{file.Path}");
        output.WriteLine($"  {summary}");
        if (file is DiffusersFolder folder)
            foreach (var component in folder.Components)
                output.WriteLine($"  component {component.Name}: {component.Library} {component.ClassName}");
        foreach (var (key, value) in file.Metadata.Take(20))
            output.WriteLine($"  metadata {key}: {Shorten(value)}");
    }

    private static void WriteJson(TextWriter output, TensorFile file, ModelSummary summary)
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
            w.WriteStartObject("metadata");
            foreach (var (key, value) in file.Metadata) w.WriteString(key, value);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static string Shorten(string value) => value.Length <= 120 ? value.ReplaceLineEndings(" ") : value[..117].ReplaceLineEndings(" ") + "...";
}
