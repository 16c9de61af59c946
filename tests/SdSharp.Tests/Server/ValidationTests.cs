using System.Net;
using System.Text.Json.Nodes;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>Bad input gets A1111's status codes and error body, never a 500.</summary>
[Collection("Server")]
public sealed class ValidationTests(ServerFixture f)
{
    private static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonNode? Body) response)
    {
        Assert.Equal(expected, response.Status);
        var body = response.Body!.AsObject();
        Assert.Equal(["error", "detail", "body", "errors"], body.Select(p => p.Key));
    }

    private static List<string> Loc((HttpStatusCode, JsonNode? Body) response) =>
        [.. response.Body!["detail"]![0]!["loc"]!.AsArray().Select(l => l!.ToString())];

    [Fact]
    public async Task AWrongTypeIs422NamingTheField()
    {
        var response = await Post(f.Client, "sdapi/v1/txt2img", """{"prompt": "x", "steps": "many"}""");
        AssertError(HttpStatusCode.UnprocessableEntity, response);
        Assert.Equal("RequestValidationError", (string)response.Body!["error"]!);
        Assert.Equal(["body", "steps"], Loc(response));
        Assert.Equal("type_error.integer", (string)response.Body["detail"]![0]!["type"]!);
    }

    [Fact]
    public async Task PydanticCoercionsAreAccepted()
    {
        // pydantic takes "6" and 6.0 for an integer and 1 for a boolean; so does this server.
        var response = await Post(f.Client, "sdapi/v1/txt2img",
            """{"prompt": "a small red circle in the center on a white background", "steps": "3", "seed": 8.0, "width": 64, "height": 64, "tiling": 0, "send_images": 1}""");
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Single(response.Body!["images"]!.AsArray());
    }

    [Theory]
    [InlineData("""{"width": 100}""", "width")]
    [InlineData("""{"steps": 0}""", "steps")]
    [InlineData("""{"cfg_scale": -1}""", "cfg_scale")]
    [InlineData("""{"batch_size": 1000}""", "batch_size")]
    [InlineData("""{"subseed_strength": 2}""", "subseed_strength")]
    [InlineData("""{"denoising_strength": 1.5, "enable_hr": true}""", "denoising_strength")]
    [InlineData("""{"scheduler": "Sometimes"}""", "scheduler")]
    [InlineData("""{"enable_hr": true, "hr_upscaler": "ESRGAN_4x"}""", "hr_upscaler")]
    [InlineData("""{"restore_faces": true}""", "restore_faces")]
    [InlineData("""{"script_name": "X/Y/Z plot"}""", "script_name")]
    [InlineData("""{"alwayson_scripts": {"ControlNet": {"args": []}}}""", "alwayson_scripts")]
    [InlineData("""{"override_settings": {"CLIP_stop_at_last_layers": "two"}}""", "override_settings")]
    [InlineData("""{"styles": "not a list"}""", "styles")]
    public async Task OutOfRangeAndUnsupportedValuesAre422(string body, string field)
    {
        var response = await Post(f.Client, "sdapi/v1/txt2img", body);
        AssertError(HttpStatusCode.UnprocessableEntity, response);
        Assert.Equal(["body", field], Loc(response));
    }

    [Fact]
    public async Task AnUnknownSamplerIs400()
    {
        var response = await Post(f.Client, "sdapi/v1/txt2img", """{"sampler_name": "Euler z"}""");
        AssertError(HttpStatusCode.BadRequest, response);
        Assert.Equal("Sampler not found", (string)response.Body!["detail"]!);
        Assert.Equal("400: Sampler not found", (string)response.Body["errors"]!);
    }

    [Fact]
    public async Task LegacySamplerNamesWithAScheduleAreAccepted()
    {
        var body = Txt2Img("a small red circle in the center on a white background", 4, steps: 3);
        body["sampler_name"] = "DPM++ 2M Karras";
        var response = await Post(f.Client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("Sampler: DPM++ 2M, Schedule type: Karras", (string)JsonNode.Parse((string)response.Body!["info"]!)!["infotexts"]![0]!);
    }

    [Theory]
    [InlineData("""{"prompt": "x", """)]
    [InlineData("""[1, 2]""")]
    [InlineData("""not json""")]
    [InlineData("")]
    public async Task MalformedBodiesAre422(string body)
    {
        AssertError(HttpStatusCode.UnprocessableEntity, await Post(f.Client, "sdapi/v1/txt2img", body));
    }

    [Fact]
    public async Task Img2ImgWithoutInitImagesIs404AsInA1111()
    {
        var response = await Post(f.Client, "sdapi/v1/img2img", """{"prompt": "x"}""");
        AssertError(HttpStatusCode.NotFound, response);
        Assert.Equal("Init image not found", (string)response.Body!["detail"]!);
    }

    [Theory]
    [InlineData("init_images", """{"init_images": ["%%% not base64 %%%"]}""")]
    [InlineData("init_images", """{"init_images": ["data:image/png;base64,aGVsbG8gd29ybGQ="]}""")]
    [InlineData("init_images", """{"init_images": ["http://example.invalid/x.png"]}""")]
    public async Task ImagesThatDoNotDecodeAre422(string field, string body)
    {
        var response = await Post(f.Client, "sdapi/v1/img2img", body);
        AssertError(HttpStatusCode.UnprocessableEntity, response);
        Assert.Equal(field, Loc(response)[1]);
    }

    [Fact]
    public async Task AMaskThatDoesNotDecodeIs422()
    {
        string init = Convert.ToBase64String(SdSharp.Imaging.PngEncoder.Encode(new SdSharp.Imaging.Image(64, 64, 3)));
        var response = await Post(f.Client, "sdapi/v1/img2img", new { init_images = new[] { init }, mask = "@@@" });
        AssertError(HttpStatusCode.UnprocessableEntity, response);
        Assert.Equal(["body", "mask"], Loc(response));
    }

    [Fact]
    public async Task PngInfoNeedsAnImage()
    {
        AssertError(HttpStatusCode.UnprocessableEntity, await Post(f.Client, "sdapi/v1/png-info", "{}"));
        AssertError(HttpStatusCode.UnprocessableEntity, await Post(f.Client, "sdapi/v1/png-info", """{"image": "bm90IGEgcG5n"}"""));
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413()
    {
        // Kestrel answers from the Content-Length alone and closes the connection, so a client that is still
        // sending sees a broken pipe; a raw request shows the answer it got.
        using var socket = new System.Net.Sockets.TcpClient();
        await socket.ConnectAsync(f.Server.Address.Host, f.Server.Address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {5 << 20}\r\n\r\n{{\"prompt\": \""));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string response = await new StreamReader(stream).ReadToEndAsync(timeout.Token);
        Assert.StartsWith("HTTP/1.1 413", response);
        Assert.Contains("\"error\":\"HTTPException\"", response);
    }
}
