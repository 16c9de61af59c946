using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>Every /sdapi/v1 endpoint against the real server: A1111's request and response shapes.</summary>
[Collection("Server")]
public sealed class ApiTests(ServerFixture f)
{
    private HttpClient Client => f.Client;

    // Processed.js()'s keys, in A1111's order.
    private static readonly string[] InfoKeys =
    [
        "prompt", "all_prompts", "negative_prompt", "all_negative_prompts", "seed", "all_seeds", "subseed", "all_subseeds", "subseed_strength",
        "width", "height", "sampler_name", "cfg_scale", "steps", "batch_size", "restore_faces", "face_restoration_model", "sd_model_name",
        "sd_model_hash", "sd_vae_name", "sd_vae_hash", "seed_resize_from_w", "seed_resize_from_h", "denoising_strength", "extra_generation_params",
        "index_of_first_image", "infotexts", "styles", "job_timestamp", "clip_skip", "is_using_inpainting_conditioning", "version",
    ];

    [Fact]
    public async Task Txt2ImgAnswersLikeA1111()
    {
        var body = Txt2Img("a large red square in the center on a blue background", 42);
        body["batch_size"] = 2;
        body["negative_prompt"] = "blurry";
        body["some_extension_field"] = new { anything = 1 }; // ignored, as pydantic ignores it
        var (status, json) = await Post(Client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, status);

        var images = json!["images"]!.AsArray();
        Assert.Equal(2, images.Count);
        var info = JsonNode.Parse((string)json["info"]!)!.AsObject();
        Assert.Equal(InfoKeys, info.Select(p => p.Key));
        Assert.Equal([42L, 43L], info["all_seeds"]!.AsArray().Select(s => (long)s!));
        Assert.Equal("Euler a", (string)info["sampler_name"]!);
        Assert.Equal("tiny-shapes", (string)info["sd_model_name"]!);
        Assert.Equal(InfotextFactory.SdSharpVersion, (string)info["version"]!);

        for (int i = 0; i < 2; i++)
        {
            string b64 = (string)images[i]!;
            Assert.False(b64.StartsWith("data:", StringComparison.Ordinal)); // A1111 sends bare base64
            var png = PngDecoder.Decode(Convert.FromBase64String(b64));
            Assert.Equal((128, 128), (png.Image.Width, png.Image.Height));
            string infotext = png.Info.GetText("parameters")!;
            Assert.Equal((string)info["infotexts"]![i]!, infotext);
            Assert.StartsWith("a large red square in the center on a blue background\nNegative prompt: blurry\nSteps: 6, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7.0, Seed: " + (42 + i), infotext);
        }

        // parameters echoes the request with A1111's defaults filled in.
        var parameters = json["parameters"]!.AsObject();
        Assert.Equal(42, (long)parameters["seed"]!);
        Assert.False((bool)parameters["enable_hr"]!);
        Assert.Equal("Euler", (string)parameters["sampler_index"]!);
        Assert.Null(parameters["denoising_strength"]);
        Assert.Equal(2.0, (double)parameters["hr_scale"]!);
        Assert.False(parameters.ContainsKey("some_extension_field"));
    }

    [Fact]
    public async Task NullsMeanA1111sDefaults()
    {
        var (status, json) = await Post(Client, "sdapi/v1/txt2img",
            """{"prompt": "a small green circle on the left on a white background", "seed": 3, "steps": 4, "width": 128, "height": 128, "sampler_name": null, "cfg_scale": null, "n_iter": null}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var info = JsonNode.Parse((string)json!["info"]!)!;
        Assert.Equal("Euler", (string)info["sampler_name"]!); // sampler_index's default
        Assert.Equal(7.0, (double)info["cfg_scale"]!);
    }

    [Fact]
    public async Task HiresFixWritesItsParameters()
    {
        var body = Txt2Img("a large yellow circle at the top on a green background", 9, steps: 4);
        body["width"] = body["height"] = 64;
        body["enable_hr"] = true;
        body["hr_scale"] = 2;
        body["hr_upscaler"] = "Latent";
        body["denoising_strength"] = 0.6;
        var (status, json) = await Post(Client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var png = PngDecoder.Decode(Convert.FromBase64String((string)json!["images"]![0]!));
        Assert.Equal(128, png.Image.Width);
        var info = JsonNode.Parse((string)json["info"]!)!;
        Assert.Equal(0.6, (double)info["extra_generation_params"]!["Denoising strength"]!);
        Assert.Equal("Latent", (string)info["extra_generation_params"]!["Hires upscaler"]!);
        Assert.Contains("Hires upscale: 2", png.Info.GetText("parameters"));
    }

    [Fact]
    public async Task Img2ImgInpaintsWithAMask()
    {
        var source = await Post(Client, "sdapi/v1/txt2img", Txt2Img("a large blue circle on the left on a red background", 5));
        string init = "data:image/png;base64," + (string)source.Body!["images"]![0]!;
        var maskImage = new Image(128, 128, 1);
        for (int y = 32; y < 96; y++)
            for (int x = 64; x < 128; x++) maskImage.Pixels[y * 128 + x] = 255;
        var body = Txt2Img("a large blue circle on the left on a red background", 6);
        body["init_images"] = new[] { init };
        body["mask"] = Convert.ToBase64String(PngEncoder.Encode(maskImage));
        body["denoising_strength"] = 0.8;
        body["mask_blur"] = 2;
        body["inpainting_fill"] = 1;
        body["inpaint_full_res"] = false;
        var (status, json) = await Post(Client, "sdapi/v1/img2img", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var png = PngDecoder.Decode(Convert.FromBase64String((string)json!["images"]![0]!));
        string infotext = png.Info.GetText("parameters")!;
        Assert.Contains("Denoising strength: 0.8", infotext);
        Assert.Contains("Mask blur: 2", infotext);
        // Outside the mask the init image comes back as it was (A1111 pastes the original over the result).
        var original = PngDecoder.Decode(Convert.FromBase64String((string)source.Body["images"]![0]!)).Image;
        Assert.Equal(original.Pixels[(10 * 128 + 10) * 3], png.Image.Pixels[(10 * 128 + 10) * 3]);
        var parameters = json["parameters"]!;
        Assert.Null(parameters["init_images"]); // left out unless include_init_images
        Assert.Equal(0.8, (double)JsonNode.Parse((string)json["info"]!)!["denoising_strength"]!);
    }

    [Fact]
    public async Task ProgressWhenIdleIsZero()
    {
        var progress = await Client.GetFromJsonAsync<JsonObject>("sdapi/v1/progress?skip_current_image=true");
        Assert.Equal(0.0, (double)progress!["progress"]!);
        Assert.Equal(0.0, (double)progress["eta_relative"]!);
        var state = progress["state"]!.AsObject();
        Assert.Equal(["skipped", "interrupted", "stopping_generation", "job", "job_count", "job_timestamp", "job_no", "sampling_step", "sampling_steps"],
            state.Select(p => p.Key));
        Assert.True(progress.ContainsKey("current_image"));
        Assert.True(progress.ContainsKey("textinfo"));
    }

    [Fact]
    public async Task PngInfoReadsWhatTxt2ImgWrote()
    {
        var generated = await Post(Client, "sdapi/v1/txt2img", Txt2Img("a small white square at the top on a black background", 77));
        string image = (string)generated.Body!["images"]![0]!;
        var (status, json) = await Post(Client, "sdapi/v1/png-info", new { image = "data:image/png;base64," + image });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((string)JsonNode.Parse((string)generated.Body["info"]!)!["infotexts"]![0]!, (string)json!["info"]!);
        var parameters = json["parameters"]!;
        Assert.Equal("a small white square at the top on a black background", (string)parameters["Prompt"]!);
        Assert.Equal("6", (string)parameters["Steps"]!);
        Assert.Equal("77", (string)parameters["Seed"]!);
        Assert.Equal("128", (string)parameters["Size-1"]!);
        Assert.Equal("1", (string)parameters["Clip skip"]!); // A1111's defaults are filled in
        Assert.Empty(json["items"]!.AsObject());
    }

    [Fact]
    public async Task PngInfoOfAnImageWithoutParametersIsEmpty()
    {
        var (status, json) = await Post(Client, "sdapi/v1/png-info", new { image = Convert.ToBase64String(PngEncoder.Encode(new Image(4, 4, 3))) });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("", (string)json!["info"]!);
    }

    [Fact]
    public async Task SamplersAndSchedulersAreA1111s()
    {
        var samplers = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/samplers"))!;
        var dpm = samplers.Single(s => (string)s!["name"]! == "DPM++ 2M")!;
        Assert.Equal(["k_dpmpp_2m"], dpm["aliases"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("karras", (string)dpm["options"]!["scheduler"]!);
        var heun = samplers.Single(s => (string)s!["name"]! == "DPM++ 2M SDE Heun")!["options"]!;
        Assert.Equal("heun", (string)heun["solver_type"]!);
        Assert.True((bool)heun["brownian_noise"]!);
        Assert.Contains(samplers, s => (string)s!["name"]! == "Euler a");

        var schedulers = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/schedulers"))!;
        Assert.Equal("automatic", (string)schedulers[0]!["name"]!);
        var karras = schedulers.Single(s => (string)s!["name"]! == "karras")!;
        Assert.Equal("Karras", (string)karras["label"]!);
        Assert.Equal(7.0, (double)karras["default_rho"]!);
        Assert.False((bool)karras["need_inner_model"]!);
        Assert.Equal(["SGMUniform"], schedulers.Single(s => (string)s!["name"]! == "sgm_uniform")!["aliases"]!.AsArray().Select(a => (string)a!));
    }

    [Fact]
    public async Task UpscalersAndLatentModesListWhatHiresCanUse()
    {
        var upscalers = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/upscalers"))!;
        Assert.Equal(["None", "Lanczos"], upscalers.Select(u => (string)u!["name"]!));
        Assert.True(upscalers[0]!.AsObject().ContainsKey("model_path"));
        var modes = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/latent-upscale-modes"))!;
        Assert.Equal(["Latent", "Latent (nearest)"], modes.Select(m => (string)m!["name"]!));
    }

    [Fact]
    public async Task LorasHypernetworksAndEmbeddingsAreListedFromTheirFolders()
    {
        var loras = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/loras"))!;
        Assert.Equal(["shapes-detail", "shapes-style"], loras.Select(l => (string)l!["name"]!));
        var lora = loras[1]!;
        Assert.Equal(Path.Combine(f.ModelsDir, "Lora", "shapes-style.safetensors"), (string)lora["path"]!);
        Assert.Empty(lora["metadata"]!.AsObject());

        var hypernetworks = (await Client.GetFromJsonAsync<JsonArray>("sdapi/v1/hypernetworks"))!;
        var hypernetwork = Assert.Single(hypernetworks)!;
        Assert.Equal("linear_hn", (string)hypernetwork["name"]!);
        Assert.Equal(Path.Combine(f.ModelsDir, "hypernetworks", "linear_hn.pt"), (string)hypernetwork["path"]!);

        // The bundled model is loaded: embeddings as wide as its text encoder are loaded, others skipped.
        var embeddings = (await Client.GetFromJsonAsync<JsonObject>("sdapi/v1/embeddings"))!;
        var loaded = embeddings["loaded"]!["shapes-token"]!;
        Assert.Equal(128, (int)loaded["shape"]!);
        Assert.Equal(2, (int)loaded["vectors"]!);
        var skipped = embeddings["skipped"]!["bad-hands"]!;
        Assert.Equal(768, (int)skipped["shape"]!);
        Assert.Equal(3, (int)skipped["vectors"]!);
    }

    [Fact]
    public async Task MemoryAndFlagsAnswer()
    {
        var memory = (await Client.GetFromJsonAsync<JsonObject>("sdapi/v1/memory"))!;
        Assert.True((long)memory["ram"]!["total"]! > 0);
        Assert.True((long)memory["ram"]!["used"]! > 0);
        Assert.Equal("unavailable", (string)memory["cuda"]!["error"]!);
        var flags = (await Client.GetFromJsonAsync<JsonObject>("sdapi/v1/cmd-flags"))!;
        Assert.False((bool)flags["listen"]!);
        Assert.True((bool)flags["api"]!);
        Assert.Equal(f.ModelsDir, (string)flags["ckpt_dir"]!);
        var scripts = (await Client.GetFromJsonAsync<JsonObject>("sdapi/v1/scripts"))!;
        Assert.Empty(scripts["txt2img"]!.AsArray());
    }

    [Fact]
    public async Task SaveImagesWritesNumberedFilesToOutputs()
    {
        var body = Txt2Img("a large purple triangle at the bottom on a yellow background", 123, steps: 3);
        body["save_images"] = true;
        var (status, _) = await Post(Client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var saved = Directory.GetFiles(Path.Combine(f.Outputs, "txt2img-images"), "*-123.png", SearchOption.AllDirectories);
        Assert.Contains("Seed: 123", PngDecoder.ReadInfo(Assert.Single(saved)).GetText("parameters"));
    }

    [Fact]
    public async Task UnknownRoutesAre404()
    {
        using var response = await Client.GetAsync("sdapi/v1/no-such-endpoint");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
