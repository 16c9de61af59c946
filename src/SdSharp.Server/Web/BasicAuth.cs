using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using SdSharp.Server.Api;

namespace SdSharp.Server.Web;

/// <summary>
/// A1111's --api-auth: HTTP Basic credentials on every request. The web UI is covered too, so a browser asks
/// once at the page and then sends the credentials with every API call the page makes.
/// </summary>
internal sealed class BasicAuth(IReadOnlyList<(string User, string Password)> credentials)
{
    public async Task Invoke(HttpContext context, RequestDelegate next)
    {
        if (credentials.Count == 0 || IsAuthorized(context.Request.Headers.Authorization.ToString()))
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"sdsharp\", charset=\"UTF-8\"";
        await HttpJson.WriteError(context, 401, new ApiException(401, "Incorrect username or password").ToBody());
    }

    private bool IsAuthorized(string header)
    {
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        int colon = decoded.IndexOf(':');
        if (colon < 0) return false;
        byte[] user = Encoding.UTF8.GetBytes(decoded[..colon]), password = Encoding.UTF8.GetBytes(decoded[(colon + 1)..]);
        bool match = false;
        foreach (var (u, p) in credentials) // every pair is compared, in constant time, so timing tells nothing
            match |= CryptographicOperations.FixedTimeEquals(user, Encoding.UTF8.GetBytes(u)) & CryptographicOperations.FixedTimeEquals(password, Encoding.UTF8.GetBytes(p));
        return match;
    }
}
