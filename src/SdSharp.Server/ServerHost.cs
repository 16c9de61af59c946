namespace SdSharp.Server;

/// <summary>The A1111-compatible HTTP server (filled in by the server issue).</summary>
public static class ServerHost;
