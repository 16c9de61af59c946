using System.CommandLine;
using SdSharp.Addons;
using SdSharp.Server;
using SdSharp.Tensors;

namespace SdSharp.Cli.Commands;

/// <summary>
/// <c>sdsharp serve</c>: the AUTOMATIC1111-compatible HTTP API (/sdapi/v1) and the web UI, until Ctrl+C.
/// </summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var listen = new Option<string>("--listen") { Description = "Address and port to listen on (loopback by default).", DefaultValueFactory = _ => "127.0.0.1:7860" };
        var models = new Option<string?>("--models") { Description = "Folder of checkpoints (.safetensors, .ckpt, diffusers folders), searched recursively." };
        var outputs = new Option<string>("--outputs") { Description = "Where images are saved when a request asks for it (save_images).", DefaultValueFactory = _ => "outputs" };
        var auth = new Option<string?>("--api-auth") { Description = "HTTP Basic credentials, user:password[,user2:password2]." };
        var maxQueue = new Option<int>("--max-queue") { Description = "Requests that may wait behind the running one; more get 503.", DefaultValueFactory = _ => 16 };
        var device = new Option<string>("--device") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => "auto" };
        var precision = new Option<string>("--precision") { Description = "GPU precision: fp16, bf16 or fp32.", DefaultValueFactory = _ => "fp16" };
        var loraDir = new Option<string?>("--lora-dir") { Description = "LoRA folder (default: Lora under --models)." };
        var embeddingsDir = new Option<string?>("--embeddings-dir") { Description = "Embeddings folder (default: embeddings under --models)." };
        var hypernetworkDir = new Option<string?>("--hypernetwork-dir") { Description = "Hypernetworks folder (default: hypernetworks under --models)." };
        var command = new Command("serve", "Serve the AUTOMATIC1111-compatible API (/sdapi/v1) and a web UI.")
        {
            listen, models, outputs, auth, maxQueue, device, precision, loraDir, embeddingsDir, hypernetworkDir,
        };
        command.SetAction(async (parse, token) =>
        {
            string? modelsDir = parse.GetValue(models);
            if (modelsDir != null && !Directory.Exists(modelsDir)) throw new InvalidInputException($"--models {modelsDir}: no such folder");
            if (parse.GetValue(maxQueue) < 0) throw new InvalidInputException("--max-queue must be 0 or more");
            string deviceName = parse.GetValue(device)!;
            var dtype = DTypeInfo.Parse(parse.GetValue(precision)!);
            var defaults = modelsDir == null ? new AddonFolders() : AddonFolders.In(modelsDir);
            var options = new ServerOptions
            {
                Listen = ServerOptions.ParseListen(parse.GetValue(listen)!),
                BundledModel = BundledModel.Path,
                ModelsDir = modelsDir,
                LoraDir = parse.GetValue(loraDir) ?? defaults.Loras,
                EmbeddingsDir = parse.GetValue(embeddingsDir) ?? defaults.Embeddings,
                HypernetworkDir = parse.GetValue(hypernetworkDir) ?? defaults.Hypernetworks,
                Outputs = parse.GetValue(outputs)!,
                ApiAuth = parse.GetValue(auth) is string a ? ServerOptions.ParseAuth(a) : [],
                MaxQueue = parse.GetValue(maxQueue),
                Device = deviceName,
                CreateBackend = () => Backends.Create(deviceName, dtype, console.Error),
            };
            await using var server = await ServerHost.StartAsync(options, console.Error, token);
            console.Error.WriteLine($"sdsharp serve: listening on {server.Address} (API under {server.Address}sdapi/v1/); Ctrl+C stops");
            await server.WaitAsync(token);
            return 0;
        });
        return command;
    }
}
