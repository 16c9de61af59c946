using System.Net;
using System.Text.Json.Nodes;
using SdSharp.Imaging;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>LoRAs, embeddings and the refiner reached through A1111's request fields and prompt syntax.</summary>
[Collection("Server")]
public sealed class AddonApiTests(ServerFixture f)
{
    private HttpClient Client => f.Client;

    private static async Task<(byte[] Pixels, string Infotext)> Generate(HttpClient client, Dictionary<string, object?> body)
    {
        var (status, json) = await Post(client, "sdapi/v1/txt2img", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var png = PngDecoder.Decode(Convert.FromBase64String((string)json!["images"]![0]!));
        return (png.Image.Pixels, png.Info.GetText("parameters")!);
    }

    [Fact]
    public async Task ALoraTagChangesTheImageAndIsNamedInTheInfotextAndTheModelIsItselfAfter()
    {
        const string prompt = "a large green circle on the right on a white background";
        var plain = await Generate(Client, Txt2Img(prompt, 11));
        var withLora = await Generate(Client, Txt2Img(prompt + " <lora:shapes-detail:2>", 11));
        var again = await Generate(Client, Txt2Img(prompt, 11));

        Assert.NotEqual(plain.Pixels, withLora.Pixels);
        Assert.Matches("Lora hashes: \"shapes-detail: [0-9a-f]{12}\"", withLora.Infotext);
        Assert.Equal(plain.Pixels, again.Pixels);
        Assert.DoesNotContain("Lora hashes", again.Infotext);
    }

    [Fact]
    public async Task AnEmbeddingNameInThePromptIsUsedAndHashed()
    {
        const string prompt = "a small red square at the top on a blue background";
        var plain = await Generate(Client, Txt2Img(prompt, 12));
        var withEmbedding = await Generate(Client, Txt2Img(prompt + " shapes-token", 12));
        Assert.NotEqual(plain.Pixels, withEmbedding.Pixels);
        Assert.Matches("TI hashes: \"shapes-token: [0-9a-f]{12}\"", withEmbedding.Infotext);
    }

    [Fact]
    public async Task ARefinerIsLoadedByItsListNameAndNamedInTheInfotext()
    {
        // shapes-copy holds the same weights as the bundled model, so the hand-off must not change the pixels.
        var body = Txt2Img("a large white triangle in the center on a purple background", 13);
        var plain = await Generate(Client, body);
        body["refiner_checkpoint"] = "shapes-copy";
        body["refiner_switch_at"] = 0.5;
        var refined = await Generate(Client, body);
        Assert.Equal(plain.Pixels, refined.Pixels);
        Assert.Contains("Refiner: shapes-copy", refined.Infotext);
        Assert.DoesNotContain("Refiner", plain.Infotext);
    }

    [Fact]
    public async Task AnUnknownRefinerIs422AndTheBaseModelAsRefinerIsNoHandOff()
    {
        var body = Txt2Img("a small black circle on the left on a orange background", 14);
        body["refiner_checkpoint"] = "no-such-model";
        body["refiner_switch_at"] = 0.8;
        var (status, json) = await Post(Client, "sdapi/v1/txt2img", body);
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains("no-such-model", json!.ToJsonString());

        body["refiner_checkpoint"] = "tiny-shapes";
        var (_, infotext) = await Generate(Client, body);
        Assert.DoesNotContain("Refiner", infotext);
    }
}
