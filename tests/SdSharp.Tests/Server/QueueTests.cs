using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SdSharp.Imaging;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>The job queue: one generation at a time, in order, interrupt and skip, full queue, disconnects, failures.</summary>
[Collection("Server")]
public sealed class QueueTests(ServerFixture f)
{
    private static readonly string[] Colors = ["red", "green", "blue", "yellow", "purple", "white", "orange", "black"];

    [Fact]
    public async Task EightClientsThreeRequestsEachAllGetTheirOwnImages()
    {
        var clients = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            using var client = Client(f.Server);
            var results = new List<(string Prompt, long Seed, JsonNode Body)>();
            for (int k = 0; k < 3; k++)
            {
                string prompt = $"a large {Colors[c]} circle in the center on a {(k == 1 ? "black" : "white")} background";
                long seed = 1000 + c * 10 + k;
                var (status, body) = await Post(client, "sdapi/v1/txt2img", Txt2Img(prompt, seed, steps: 4));
                Assert.Equal(HttpStatusCode.OK, status);
                results.Add((prompt, seed, body!));
            }
            return results;
        })).ToList();
        var all = (await Task.WhenAll(clients)).SelectMany(r => r).ToList();

        Assert.Equal(24, all.Count);
        foreach (var (prompt, seed, body) in all)
        {
            // The image's own infotext (written with the pixels) names this request's prompt and seed.
            var png = PngDecoder.Decode(Convert.FromBase64String((string)body["images"]![0]!));
            Assert.StartsWith($"{prompt}\nSteps: 4, Sampler: Euler a, Schedule type: Automatic, CFG scale: 7.0, Seed: {seed},", png.Info.GetText("parameters"));
            Assert.Equal(seed, (long)JsonNode.Parse((string)body["info"]!)!["seed"]!);
        }
        // And the pixels are that seed's: the same request alone gives the same image.
        foreach (var (prompt, seed, body) in all.Where((_, i) => i % 8 == 0))
        {
            var again = await Post(f.Client, "sdapi/v1/txt2img", Txt2Img(prompt, seed, steps: 4));
            Assert.Equal((string)body["images"]![0]!, (string)again.Body!["images"]![0]!);
        }
    }

    [Fact]
    public async Task JobsRunInTheOrderTheyArrived()
    {
        // A blocker long enough to outlast the queuing on any machine; interrupted once the queue is built.
        var blocker = Post(f.Client, "sdapi/v1/txt2img", Txt2Img("a large red square in the center on a blue background", 1, steps: 1000));
        await WaitUntilRunning(f.Client);
        var finished = new List<int>();
        var queued = new List<Task>();
        for (int i = 0; i < 4; i++)
        {
            int n = i;
            queued.Add(Task.Run(async () =>
            {
                var (status, _) = await Post(f.Client, "sdapi/v1/txt2img", Txt2Img("a small green circle on the right on a white background", 50 + n, steps: 2));
                Assert.Equal(HttpStatusCode.OK, status);
                lock (finished) finished.Add(n);
            }));
            await WaitForQueueLength(f.Client, i + 1);
        }
        await Post(f.Client, "sdapi/v1/interrupt", new { });
        await Task.WhenAll(queued);
        await blocker;
        Assert.Equal([0, 1, 2, 3], finished);
    }

    [Fact]
    public async Task ProgressReportsStepsAndAPreviewAndInterruptReturnsTheImageSoFar()
    {
        var body = Txt2Img("a large blue triangle at the top on a yellow background", 31, steps: 1000);
        body["force_task_id"] = "task(test-interrupt)";
        var generation = Post(f.Client, "sdapi/v1/txt2img", body);
        JsonObject progress;
        var watch = Stopwatch.StartNew();
        do
        {
            progress = (await f.Client.GetFromJsonAsync<JsonObject>("sdapi/v1/progress"))!;
            await Task.Delay(50);
        } while ((progress["current_image"] == null || (int)progress["state"]!["sampling_step"]! < 12) && watch.Elapsed < TimeSpan.FromMinutes(2));

        Assert.Equal("task(test-interrupt)", (string)progress["current_task"]!);
        Assert.Equal(1000, (int)progress["state"]!["sampling_steps"]!);
        Assert.Equal(1, (int)progress["state"]!["job_count"]!);
        double fraction = (double)progress["progress"]!;
        // A1111's formula: 1% for having started plus the share of steps done.
        Assert.InRange(fraction, 0.01 + 12 / 1000.0, 0.99);
        Assert.True((double)progress["eta_relative"]! > 0);
        var preview = PngDecoder.Decode(Convert.FromBase64String((string)progress["current_image"]!));
        Assert.Equal(128, preview.Image.Width);

        var (interruptStatus, interruptBody) = await Post(f.Client, "sdapi/v1/interrupt", new { });
        Assert.Equal(HttpStatusCode.OK, interruptStatus);
        Assert.Empty(interruptBody!.AsObject());
        var (status, result) = await generation;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(result!["images"]!.AsArray()); // the image so far, decoded from the latest estimate
        Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task SkipEndsTheCurrentBatchOnly()
    {
        var body = Txt2Img("a large white circle on the left on a black background", 70, steps: 100);
        body["n_iter"] = 2;
        var generation = Post(f.Client, "sdapi/v1/txt2img", body);
        await WaitUntilRunning(f.Client);
        await Post(f.Client, "sdapi/v1/skip", new { });
        var (status, result) = await generation;
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, result!["images"]!.AsArray().Count); // the skipped batch's image so far, then the second batch
        var info = JsonNode.Parse((string)result["info"]!)!;
        Assert.Equal([70L, 71L], info["all_seeds"]!.AsArray().Select(s => (long)s!));
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfterAndADisconnectedClientsJobIsDropped()
    {
        await using var server = await ServerFixture.Start(Options(f) with { MaxQueue = 1 });
        using var client = Client(server);
        await WaitForModel(client);
        var running = Post(client, "sdapi/v1/txt2img", Txt2Img("a large red square in the center on a blue background", 2, steps: 1000));
        await WaitUntilRunning(client);

        using var leaving = new CancellationTokenSource();
        var waiting = Post(client, "sdapi/v1/txt2img", Txt2Img("a small red square in the center on a blue background", 3, steps: 2), leaving.Token);
        await WaitForQueueLength(client, 1);

        using var full = await client.PostAsync("sdapi/v1/txt2img", JsonContent(Txt2Img("x", 4)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, full.StatusCode);
        Assert.True(full.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("HTTPException", (string)JsonNode.Parse(await full.Content.ReadAsStringAsync())!["error"]!);

        leaving.Cancel(); // the waiting client disconnects
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await WaitForQueueLength(client, 0);
        // The queue emptied while the first job still runs: the waiting job was dropped, not started.
        var progress = (await client.GetFromJsonAsync<JsonObject>("sdapi/v1/progress?skip_current_image=true"))!;
        Assert.Equal(1000, (int)progress["state"]!["sampling_steps"]!);

        await Post(client, "sdapi/v1/interrupt", new { });
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
    }

    [Fact]
    public async Task AFailingJobDoesNotTakeTheServerDown()
    {
        string broken = Path.Combine(f.ModelsDir, "broken.safetensors");
        await File.WriteAllTextAsync(broken, "this is not a checkpoint");
        try
        {
            await Post(f.Client, "sdapi/v1/refresh-checkpoints", new { });
            var body = Txt2Img("a large red square in the center on a blue background", 5, steps: 2);
            body["override_settings"] = new Dictionary<string, object> { ["sd_model_checkpoint"] = "broken.safetensors" };
            var (status, error) = await Post(f.Client, "sdapi/v1/txt2img", body);
            Assert.True(status is HttpStatusCode.InternalServerError or HttpStatusCode.UnprocessableEntity, $"got {status}");
            Assert.Equal(["error", "detail", "body", "errors"], error!.AsObject().Select(p => p.Key));

            var (after, _) = await Post(f.Client, "sdapi/v1/txt2img", Txt2Img("a large red square in the center on a blue background", 5, steps: 2));
            Assert.Equal(HttpStatusCode.OK, after);
        }
        finally
        {
            File.Delete(broken);
            await Post(f.Client, "sdapi/v1/refresh-checkpoints", new { });
        }
    }

    internal static async Task WaitUntilRunning(HttpClient client)
    {
        for (int i = 0; i < 2000; i++)
        {
            var p = (await client.GetFromJsonAsync<JsonObject>("sdapi/v1/progress?skip_current_image=true"))!;
            if ((int)p["state"]!["job_count"]! > 0 && (int)p["state"]!["sampling_step"]! >= 1) return;
            await Task.Delay(20);
        }
        throw new TimeoutException("no job started");
    }

    private static async Task WaitForQueueLength(HttpClient client, int length)
    {
        for (int i = 0; i < 1000; i++)
        {
            var p = (await client.GetFromJsonAsync<JsonObject>("sdapi/v1/progress?skip_current_image=true"))!;
            if ((int)p["queue_size"]! == length) return;
            await Task.Delay(10);
        }
        throw new TimeoutException($"the queue never held {length} jobs");
    }
}
