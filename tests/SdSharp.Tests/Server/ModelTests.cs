using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>sd-models, refresh-checkpoints and the options that choose the model and change generation.</summary>
[Collection("Server")]
public sealed class ModelTests(ServerFixture f)
{
    private async Task<JsonArray> Models() => (await f.Client.GetFromJsonAsync<JsonArray>("sdapi/v1/sd-models"))!;

    private async Task<JsonObject> Options() => (await f.Client.GetFromJsonAsync<JsonObject>("sdapi/v1/options"))!;

    [Fact]
    public async Task TheBundledModelAndTheModelsFolderAreListedWithA1111Titles()
    {
        var models = await Models();
        Assert.Equal("tiny-shapes", (string)models[0]!["title"]!);
        var sd1 = models.Single(m => ((string)m!["title"]!).StartsWith("tiny-sd1.safetensors", StringComparison.Ordinal))!;
        string hash = (string)sd1["hash"]!;
        Assert.Matches("^[0-9a-f]{10}$", hash);
        Assert.Equal($"tiny-sd1.safetensors [{hash}]", (string)sd1["title"]!);
        Assert.Equal("tiny-sd1", (string)sd1["model_name"]!);
        Assert.StartsWith(hash, (string)sd1["sha256"]!);
        Assert.Equal(Path.Combine(f.ModelsDir, "tiny-sd1.safetensors"), (string)sd1["filename"]!);
        // LoRA and embedding folders hold no checkpoints.
        Assert.DoesNotContain(models, m => ((string)m!["title"]!).Contains("shapes-style", StringComparison.Ordinal));
        Assert.Equal(["tiny-shapes", $"tiny-sd1.safetensors [{hash}]", "shapes-copy"], models.Select(m => (string)m!["title"]!));
    }

    [Fact]
    public async Task RefreshFindsNewCheckpoints()
    {
        string added = Path.Combine(f.ModelsDir, "sub", "copy.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(added)!);
        File.Copy(TestPaths.Fixture("models", "sd1", "single.safetensors"), added);
        try
        {
            Assert.DoesNotContain(await Models(), m => ((string)m!["title"]!).StartsWith("sub/copy.safetensors", StringComparison.Ordinal));
            var (status, _) = await Post(f.Client, "sdapi/v1/refresh-checkpoints", new { });
            Assert.Equal(HttpStatusCode.OK, status);
            var copy = (await Models()).Single(m => ((string)m!["title"]!).StartsWith("sub/copy.safetensors", StringComparison.Ordinal))!;
            Assert.Equal("sub_copy", (string)copy["model_name"]!);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(added)!, recursive: true);
            await Post(f.Client, "sdapi/v1/refresh-checkpoints", new { });
        }
    }

    [Fact]
    public async Task SettingTheCheckpointSwitchesTheModel()
    {
        try
        {
            var (status, body) = await Post(f.Client, "sdapi/v1/options", new { sd_model_checkpoint = "shapes-copy" });
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Null(body); // A1111 answers null
            Assert.Equal("shapes-copy", (string)(await Options())["sd_model_checkpoint"]!);

            var (genStatus, gen) = await Post(f.Client, "sdapi/v1/txt2img", Txt2Img("a large red square in the center on a blue background", 1, steps: 2));
            Assert.Equal(HttpStatusCode.OK, genStatus);
            var info = JsonNode.Parse((string)gen!["info"]!)!;
            Assert.Equal("shapes-copy", (string)info["sd_model_name"]!);
            Assert.Contains("Model: shapes-copy", (string)info["infotexts"]![0]!);
        }
        finally
        {
            await Post(f.Client, "sdapi/v1/options", new { sd_model_checkpoint = "tiny-shapes" });
        }
        Assert.Equal("tiny-shapes", (string)(await Options())["sd_model_checkpoint"]!);
    }

    [Fact]
    public async Task AnOverrideUsesAnotherModelForOneRequestOnly()
    {
        var body = Txt2Img("a large red square in the center on a blue background", 1, steps: 2);
        body["override_settings"] = new Dictionary<string, object> { ["sd_model_checkpoint"] = "shapes-copy", ["CLIP_stop_at_last_layers"] = 2 };
        var (status, gen) = await Post(f.Client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var info = JsonNode.Parse((string)gen!["info"]!)!;
        Assert.Equal("shapes-copy", (string)info["sd_model_name"]!);
        Assert.Equal(2, (int)info["clip_skip"]!);
        Assert.Contains("Clip skip: 2", (string)info["infotexts"]![0]!);
        var options = await Options();
        Assert.Equal("tiny-shapes", (string)options["sd_model_checkpoint"]!);
        Assert.Equal(1, (int)options["CLIP_stop_at_last_layers"]!);
        var (again, next) = await Post(f.Client, "sdapi/v1/txt2img", Txt2Img("a large red square in the center on a blue background", 1, steps: 2));
        Assert.Equal("tiny-shapes", (string)JsonNode.Parse((string)next!["info"]!)!["sd_model_name"]!);
    }

    [Theory]
    [InlineData("../../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("tiny-sd1.safetensors/../../x")]
    [InlineData("no-such-model.safetensors")]
    public async Task OnlyListedModelsCanBeChosen(string name)
    {
        var (status, body) = await Post(f.Client, "sdapi/v1/options", new { sd_model_checkpoint = name });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("not found", body!.ToJsonString());
        Assert.Equal("tiny-shapes", (string)(await Options())["sd_model_checkpoint"]!);
    }

    [Fact]
    public async Task OptionsAreCheckedAndApplied()
    {
        var options = await Options();
        Assert.Equal(1, (int)options["CLIP_stop_at_last_layers"]!);
        Assert.Equal("CPU", (string)options["randn_source"]!);
        Assert.Equal("png", (string)options["samples_format"]!);
        try
        {
            Assert.Equal(HttpStatusCode.OK, (await Post(f.Client, "sdapi/v1/options", new { eta_noise_seed_delta = 31337, some_unknown_option = 5 })).Status);
            Assert.Equal(31337, (long)(await Options())["eta_noise_seed_delta"]!);
            var (status, _) = await Post(f.Client, "sdapi/v1/options", new { randn_source = "quantum" });
            Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await Post(f.Client, "sdapi/v1/options", new { samples_format = "jpg" })).Status);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, (await Post(f.Client, "sdapi/v1/options", new { show_progress_every_n_steps = "often" })).Status);
        }
        finally
        {
            await Post(f.Client, "sdapi/v1/options", new { eta_noise_seed_delta = 0 });
        }
    }
}
