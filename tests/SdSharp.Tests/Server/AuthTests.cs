using System.Net;
using System.Net.Http.Headers;
using System.Text;
using SdSharp.Server;
using static SdSharp.Tests.Server.TestServers;

namespace SdSharp.Tests.Server;

/// <summary>--api-auth, --listen parsing and the warning for an open, unauthenticated server.</summary>
[Collection("Server")]
public sealed class AuthTests(ServerFixture f)
{
    [Fact]
    public async Task ApiAuthAsksForBasicCredentials()
    {
        await using var server = await ServerFixture.Start(Options(f) with { ApiAuth = ServerOptions.ParseAuth("alice:s3cret,bob:hunter2") });
        using var client = Client(server);
        using (var anonymous = await client.GetAsync("sdapi/v1/samplers"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Basic", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var page = await client.GetAsync("")) Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:wrong")));
        using (var wrong = await client.GetAsync("sdapi/v1/samplers")) Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:hunter2")));
        using (var right = await client.GetAsync("sdapi/v1/samplers")) Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        var flags = await (await client.GetAsync("sdapi/v1/cmd-flags")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("hunter2", flags);
    }

    [Fact]
    public async Task ListeningBeyondLoopbackWithoutAuthWarns()
    {
        var log = new StringWriter();
        await using (var server = await ServerHost.StartAsync(Options(f) with { Listen = new IPEndPoint(IPAddress.Any, 0) }, log))
            Assert.Contains("warning: listening on 0.0.0.0:0 without --api-auth", log.ToString());
        var quiet = new StringWriter();
        await using (var server = await ServerHost.StartAsync(Options(f), quiet))
            Assert.DoesNotContain("warning", quiet.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1:7860", "127.0.0.1", 7860)]
    [InlineData("0.0.0.0:8080", "0.0.0.0", 8080)]
    [InlineData("[::1]:7861", "::1", 7861)]
    [InlineData("localhost:9000", "127.0.0.1", 9000)]
    [InlineData("7862", "127.0.0.1", 7862)]
    public void ListenAddressesParse(string value, string address, int port)
    {
        var endpoint = ServerOptions.ParseListen(value);
        Assert.Equal(IPAddress.Parse(address), endpoint.Address);
        Assert.Equal(port, endpoint.Port);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("somewhere:80")]
    [InlineData("1.2.3.4:99999")]
    public void BadListenAddressesAreTheUsersError(string value) =>
        Assert.Throws<InvalidInputException>(() => ServerOptions.ParseListen(value));

    [Theory]
    [InlineData("nopassword")]
    [InlineData(":x")]
    [InlineData("user:")]
    public void BadCredentialsAreTheUsersError(string value) =>
        Assert.Throws<InvalidInputException>(() => ServerOptions.ParseAuth(value));

    [Fact]
    public void TheServeCommandIsListed()
    {
        var (exit, output, _) = SdSharp.Tests.Cli.CliRunner.Run("serve", "--help");
        Assert.Equal(0, exit);
        foreach (string option in new[] { "--listen", "--models", "--outputs", "--api-auth", "--max-queue", "--device" })
            Assert.Contains(option, output);
    }
}
