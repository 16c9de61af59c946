using System.Globalization;
using System.Net;
using SdSharp.Generation.Infotext;
using SdSharp.Tensors;

namespace SdSharp.Server;

/// <summary>How <c>sdsharp serve</c> was started.</summary>
public sealed record ServerOptions
{
    /// <summary>Address and port to listen on; port 0 picks a free one (tests).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 7860);
    /// <summary>The model shipped with SdSharp (a diffusers folder); offered first when present.</summary>
    public string? BundledModel { get; init; }
    /// <summary>Folder searched (recursively) for checkpoints.</summary>
    public string? ModelsDir { get; init; }
    /// <summary>LoRA files listed by /sdapi/v1/loras; left out of the checkpoint list.</summary>
    public string? LoraDir { get; init; }
    /// <summary>Textual-inversion embeddings listed by /sdapi/v1/embeddings; left out of the checkpoint list.</summary>
    public string? EmbeddingsDir { get; init; }
    /// <summary>Hypernetworks (.pt) that &lt;hypernet:NAME:WEIGHT&gt; in a prompt names.</summary>
    public string? HypernetworkDir { get; init; }
    /// <summary>Where requests with save_images write (outputs/txt2img-images/DATE/, as A1111).</summary>
    public string Outputs { get; init; } = "outputs";
    /// <summary>HTTP Basic credentials (user, password); empty: no authentication.</summary>
    public IReadOnlyList<(string User, string Password)> ApiAuth { get; init; } = [];
    /// <summary>Jobs that may wait behind the running one before requests get 503.</summary>
    public int MaxQueue { get; init; } = 16;
    /// <summary>Largest request body; A1111 sends images inline as base64, so this is generous.</summary>
    public long MaxBodyBytes { get; init; } = 64L << 20;
    /// <summary>The --device value, reported by /sdapi/v1/cmd-flags.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Makes the backend models are loaded on (called once, at start).</summary>
    public required Func<IBackend> CreateBackend { get; init; }
    /// <summary>Where model hashes are cached; null is the user's cache folder.</summary>
    public string? HashCacheFile { get; init; } = ModelHashes.DefaultCacheFile();

    public bool IsLoopbackOnly => IPAddress.IsLoopback(Listen.Address);

    /// <summary>"127.0.0.1:7860", "0.0.0.0:7860", "[::1]:7860" or a bare port.</summary>
    public static IPEndPoint ParseListen(string value)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535)
            return new IPEndPoint(IPAddress.Loopback, port);
        // The port must be written: IPEndPoint alone would take "127.0.0.1" as port 0.
        bool hasPort = value.StartsWith('[') ? value.Contains("]:", StringComparison.Ordinal) : value.Count(c => c == ':') == 1;
        if (hasPort && IPEndPoint.TryParse(value, out var endpoint)) return endpoint;
        if (value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) &&
            int.TryParse(value["localhost:".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535)
            return new IPEndPoint(IPAddress.Loopback, port);
        throw new InvalidInputException($"--listen {value}: expected ADDRESS:PORT, e.g. 127.0.0.1:7860 or 0.0.0.0:7860");
    }

    /// <summary>A1111's --api-auth: "user:pass,user2:pass2".</summary>
    public static IReadOnlyList<(string, string)> ParseAuth(string value)
    {
        var result = new List<(string, string)>();
        foreach (string pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = pair.IndexOf(':');
            if (colon <= 0 || colon == pair.Length - 1) throw new InvalidInputException($"--api-auth: expected user:password pairs separated by commas, got '{pair}'");
            result.Add((pair[..colon], pair[(colon + 1)..]));
        }
        if (result.Count == 0) throw new InvalidInputException("--api-auth: no user:password given");
        return result;
    }
}
