using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SdSharp.Cpu;
using SdSharp.Server;

namespace SdSharp.Tests.Server;

/// <summary>
/// A real server on a free loopback port with the bundled model, plus a models folder holding the tiny SD 1.x
/// fixture checkpoint, a LoRA and an embedding, and a temporary outputs folder.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerHost Server { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public string Root { get; } = TestPaths.NewTempDirectory();
    public StringWriter Log { get; } = new();

    public string ModelsDir => Path.Combine(Root, "models");
    public string Outputs => Path.Combine(Root, "outputs");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(ModelsDir, "Lora"));
        Directory.CreateDirectory(Path.Combine(ModelsDir, "embeddings"));
        Directory.CreateDirectory(Path.Combine(ModelsDir, "hypernetworks"));
        File.Copy(TestPaths.Fixture("addons", "linear_hn.pt"), Path.Combine(ModelsDir, "hypernetworks", "linear_hn.pt"));
        // A checkpoint file (listed with its hash) and a second loadable model to switch to (the bundled one again).
        File.Copy(TestPaths.Fixture("models", "sd1", "single.safetensors"), Path.Combine(ModelsDir, "tiny-sd1.safetensors"));
        Directory.CreateSymbolicLink(Path.Combine(ModelsDir, "shapes-copy"), Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"));
        File.WriteAllBytes(Path.Combine(ModelsDir, "Lora", "shapes-style.safetensors"), SafetensorsFile("lora_unet_x.alpha", [1]));
        File.WriteAllBytes(Path.Combine(ModelsDir, "embeddings", "bad-hands.safetensors"), SafetensorsFile("emb_params", [3, 768]));
        // Add-ons that fit the bundled model: a LoRA on one cross-attention key projection (64 ← 128) and a
        // two-vector embedding as wide as its text encoder.
        File.WriteAllBytes(Path.Combine(ModelsDir, "Lora", "shapes-detail.safetensors"), SafetensorsFile(
            ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", [4, 128]),
            ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", [64, 4]),
            ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha", [])));
        File.WriteAllBytes(Path.Combine(ModelsDir, "embeddings", "shapes-token.safetensors"), SafetensorsFile(("emb_params", [2, 128])));
        Server = await Start(TestServers.Options(this));
        Client = TestServers.Client(Server);
        await TestServers.WaitForModel(Client);
    }

    public static Task<ServerHost> Start(ServerOptions options) => ServerHost.StartAsync(options, TextWriter.Null);

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    /// <summary>A valid safetensors file holding one zero f32 tensor of the given shape.</summary>
    public static byte[] SafetensorsFile(string name, long[] shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return SafetensorsFile([(name, shape, new float[count])]);
    }

    /// <summary>A safetensors file of f32 tensors with fixed pseudo-random values in ±0.5.</summary>
    public static byte[] SafetensorsFile(params (string Name, long[] Shape)[] tensors)
    {
        var random = new Random(7);
        return SafetensorsFile([.. tensors.Select(t => (t.Name, t.Shape,
            Enumerable.Range(0, (int)t.Shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)random.NextDouble() - 0.5f).ToArray()))]);
    }

    private static byte[] SafetensorsFile((string Name, long[] Shape, float[] Values)[] tensors)
    {
        long offset = 0;
        var entries = new List<string>();
        foreach (var (name, shape, values) in tensors)
        {
            entries.Add($"\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{offset},{offset + values.Length * 4}]}}");
            offset += values.Length * 4;
        }
        string header = "{" + string.Join(",", entries) + "}";
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)header.Length));
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        foreach (var (_, _, values) in tensors) bytes.AddRange(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        return [.. bytes];
    }
}

[CollectionDefinition("Server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>;

/// <summary>Starting servers and talking to them.</summary>
public static class TestServers
{
    public static ServerOptions Options(ServerFixture f) => new()
    {
        Listen = new IPEndPoint(IPAddress.Loopback, 0),
        BundledModel = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"),
        ModelsDir = f.ModelsDir,
        LoraDir = Path.Combine(f.ModelsDir, "Lora"),
        EmbeddingsDir = Path.Combine(f.ModelsDir, "embeddings"),
        HypernetworkDir = Path.Combine(f.ModelsDir, "hypernetworks"),
        Outputs = f.Outputs,
        MaxBodyBytes = 4 << 20,
        HashCacheFile = null,
        CreateBackend = () => new CpuBackend(),
    };

    public static HttpClient Client(ServerHost server) => new() { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>Waits until the start-up load of the first model is done, so timings in tests do not include it.</summary>
    public static async Task WaitForModel(HttpClient client)
    {
        for (int i = 0; i < 600; i++)
        {
            var info = await client.GetFromJsonAsync<JsonObject>("internal/sdsharp");
            if ((string?)info!["loaded_model"] == "tiny-shapes") return;
            await Task.Delay(50);
        }
        throw new TimeoutException("the server did not load its model");
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> Post(HttpClient client, string path, object body, CancellationToken cancellation = default)
    {
        using var response = await client.PostAsync(path, JsonContent(body), cancellation);
        string text = await response.Content.ReadAsStringAsync(cancellation);
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static StringContent JsonContent(object body) =>
        new(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>A quick txt2img body for the bundled model (128×128, few steps).</summary>
    public static Dictionary<string, object?> Txt2Img(string prompt, long seed, int steps = 6) => new()
    {
        ["prompt"] = prompt, ["seed"] = seed, ["steps"] = steps, ["width"] = 128, ["height"] = 128, ["sampler_name"] = "Euler a",
    };
}
