using System.CommandLine;
using System.Text.Json;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;

namespace SdSharp.Cli.Commands;

/// <summary>
/// <c>sdsharp png-info FILE [--json]</c>: a PNG's size and text chunks, read without decoding pixels, and the
/// generation parameters in its <c>parameters</c> chunk as A1111's PNG Info reads them.
/// </summary>
internal static class PngInfoCommand
{
    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "A PNG image." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("png-info", "Show a PNG's text chunks, including AUTOMATIC1111's generation parameters.") { file, json };
        command.SetAction(parse =>
        {
            string path = parse.GetValue(file)!;
            var info = PngDecoder.ReadInfo(path);
            if (parse.GetValue(json)) WriteJson(console.Out, path, info);
            else WriteText(console.Out, path, info);
            return 0;
        });
        return command;
    }

    private static void WriteText(TextWriter output, string path, PngInfo info)
    {
        var h = info.Header;
        output.WriteLine($"{Path.GetFileName(path)}: {h.Width}×{h.Height}, {h.BitDepth}-bit {h.ColorType}{(h.Interlaced ? ", interlaced" : "")}");
        if (info.GetText(ImageInfotext.PngKeyword) is string parameters)
        {
            output.WriteLine("parameters (AUTOMATIC1111 infotext):");
            output.WriteLine(parameters);
            output.WriteLine("fields (as A1111's PNG Info reads them):");
            foreach (var (key, value) in InfotextParser.Parse(parameters).Fields)
                output.WriteLine($"  {key}: {ParsedValueText(value).Replace("\n", "\n    ")}");
        }
        foreach (var chunk in info.Text.Where(t => t.Keyword != "parameters"))
            output.WriteLine($"{chunk.Keyword} [{chunk.Kind}{(chunk.Compressed ? ", compressed" : "")}]: {chunk.Value}");
        if (info.Text.Count == 0) output.WriteLine("no text chunks");
    }

    private static void WriteJson(TextWriter output, string path, PngInfo info)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", path);
            w.WriteNumber("width", info.Header.Width);
            w.WriteNumber("height", info.Header.Height);
            w.WriteNumber("bit_depth", info.Header.BitDepth);
            w.WriteString("color_type", info.Header.ColorType.ToString());
            w.WriteBoolean("interlaced", info.Header.Interlaced);
            string? parameters = info.GetText(ImageInfotext.PngKeyword);
            if (parameters != null) w.WriteString("parameters", parameters);
            else w.WriteNull("parameters");
            // A1111's /sdapi/v1/png-info "parameters" dict, with its value types.
            if (parameters == null) w.WriteNull("fields");
            else WriteFields(w, InfotextParser.Parse(parameters));
            w.WriteStartArray("text");
            foreach (var chunk in info.Text)
            {
                w.WriteStartObject();
                w.WriteString("keyword", chunk.Keyword);
                w.WriteString("value", chunk.Value);
                w.WriteString("kind", chunk.Kind.ToString());
                w.WriteBoolean("compressed", chunk.Compressed);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static void WriteFields(Utf8JsonWriter w, ParsedInfotext infotext)
    {
        w.WriteStartObject("fields");
        foreach (var (key, value) in infotext.Fields)
        {
            switch (value)
            {
                case bool b: w.WriteBoolean(key, b); break;
                case long l: w.WriteNumber(key, l); break;
                default: w.WriteString(key, ParsedValueText(value)); break;
            }
        }
        w.WriteEndObject();
    }

    private static string ParsedValueText(object value) => value switch
    {
        string s => s,
        bool b => b ? "True" : "False",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
