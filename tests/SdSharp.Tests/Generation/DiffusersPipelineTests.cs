using System.Text.Json;
using SdSharp.Cpu;
using SdSharp.Generation;
using SdSharp.Imaging;
using SdSharp.IO;
using SdSharp.Tests.Models;
using Xunit.Abstractions;

namespace SdSharp.Tests.Generation;

/// <summary>
/// The whole pipeline against diffusers' StableDiffusionPipeline / Img2Img / Inpaint on the bundled model and the
/// tiny 9-channel inpainting fixture (tools/reference/make_pipeline_fixtures.py, which says how A1111's settings
/// were made equivalent for diffusers): final latents within 1e-3 relative L2.
/// </summary>
public sealed class DiffusersPipelineTests(ITestOutputHelper output)
{
    private static readonly string Folder = TestPaths.Fixture("pipelines");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in ReadCases()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static List<JsonElement> ReadCases() =>
        [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "cases.json"))).RootElement.EnumerateArray()];

    [Theory]
    [MemberData(nameof(Cases))]
    public void FinalLatentsMatchDiffusers(string name)
    {
        var c = ReadCases().Single(x => x.GetProperty("name").GetString() == name);
        var request = new GenerationRequest
        {
            Prompt = c.GetProperty("prompt").GetString()!,
            NegativePrompt = c.GetProperty("negative").GetString()!,
            Seed = c.GetProperty("seed").GetInt64(),
            BatchSize = c.GetProperty("batch").GetInt32(),
            SamplerName = c.GetProperty("sampler").GetString(),
            Steps = c.GetProperty("steps").GetInt32(),
            CfgScale = c.GetProperty("cfg").GetDouble(),
            Width = c.GetProperty("width").GetInt32(),
            Height = c.GetProperty("height").GetInt32(),
        };
        if (c.TryGetProperty("init", out var init))
            request = request with
            {
                InitImages = [PngDecoder.Decode(Path.Combine(Folder, init.GetString()!)).Image],
                DenoisingStrength = c.GetProperty("strength").GetDouble(),
            };
        if (c.TryGetProperty("mask", out _))
        {
            var mask = new Image(request.Width, request.Height, 1);
            Array.Fill(mask.Pixels, (byte)255);
            request = request with { Mask = mask, InpaintFullRes = false, MaskBlurX = 0, MaskBlurY = 0, InpaintingFill = 1 };
        }

        using var cpu = new CpuBackend(threads: 2);
        string model = c.GetProperty("model").GetString() == "bundled"
            ? Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes")
            : TestPaths.Fixture("models", c.GetProperty("model").GetString()!, "diffusers");
        var options = new ModelLoadOptions { Tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer") };
        using var sd = StableDiffusionModel.Load(model, cpu, options);
        var images = new Generator(sd).Generate(request).Images;

        using var reference = SafetensorsFile.Open(Path.Combine(Folder, "expected.safetensors"));
        var (expected, shape) = ModelFixtures.Read(reference, name);
        float[] want = ModelFixtures.ToNhwc(expected, shape);
        float[] got = [.. images.SelectMany(i => i.Latent!)];
        Assert.Equal(want.Length, got.Length);
        double difference = 0, norm = 0;
        for (int i = 0; i < want.Length; i++)
        {
            difference += (double)(got[i] - want[i]) * (got[i] - want[i]);
            norm += (double)want[i] * want[i];
        }
        double relative = Math.Sqrt(difference / norm);
        output.WriteLine($"{name}: relative L2 {relative:E2}");
        Assert.True(relative < 1e-3, $"{name}: relative L2 {relative:E2} against diffusers");
    }
}
