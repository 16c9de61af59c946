using System.Text.Json;
using SdSharp.Generation.Infotext;
using SdSharp.Imaging;

namespace SdSharp.Server.Api;

/// <summary>Images in request and response bodies: base64 PNG, optionally as a data: URL (as A1111 accepts them).</summary>
internal static class Base64Image
{
    /// <summary>Decoded images are capped well below the PNG codec's own limit: a server must not be made to allocate gigabytes.</summary>
    private static readonly PngDecoderOptions Limits = new() { MaxPixels = 8192L * 8192 };

    public static byte[] Bytes(string encoded, string field, int? index)
    {
        string data = encoded.Trim();
        if (data.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = data.IndexOf(',');
            if (comma < 0 || !data[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw Invalid(field, index, "a data URL must be base64 encoded");
            data = data[(comma + 1)..];
        }
        if (data.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || data.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw Invalid(field, index, "image URLs are not fetched; send the image as base64");
        var bytes = new byte[data.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(data, bytes, out int written)) throw Invalid(field, index, "invalid base64");
        return bytes[..written];
    }

    public static Image Decode(string encoded, string field, int? index)
    {
        byte[] bytes = Bytes(encoded, field, index);
        try
        {
            return PngDecoder.Decode(bytes, field, Limits).Image;
        }
        catch (InvalidInputException e)
        {
            throw Invalid(field, index, $"not a PNG image this server can read ({e.Message})");
        }
    }

    private static ApiException Invalid(string field, int? index, string message) =>
        ApiException.At(index is int i ? [Json.Of(field), Json.Of(i)] : [Json.Of(field)], message);
}
