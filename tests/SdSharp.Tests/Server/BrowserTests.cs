using Microsoft.Playwright;
using SdSharp.Imaging;

namespace SdSharp.Tests.Server;

/// <summary>
/// The web UI in a real browser: the system's headless Chromium (Debian's package; ./test.sh installs it),
/// driven by Playwright. No browser is ever downloaded.
/// </summary>
[Collection("Server")]
public sealed class BrowserTests(ServerFixture f)
{
    private const string Chromium = "/usr/bin/chromium";

    private static async Task<(IPlaywright, IBrowser)> Launch()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: ./test.sh installs Debian's chromium package (apt-get install chromium)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        return (playwright, browser);
    }

    [Fact]
    public async Task TypingAPromptAndClickingGenerateShowsTheImageAndItsInfotext()
    {
        var (playwright, browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 900 } });
            var errors = new List<string>();
            page.PageError += (_, e) => errors.Add(e);
            await page.GotoAsync(f.Server.Address.ToString());
            // The page fills its lists from the API and sizes the image for the loaded model.
            await Assertions.Expect(page.Locator("#sampler_name option[value='Euler a']")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#width")).ToHaveValueAsync("128");
            await Assertions.Expect(page.Locator("#model")).ToHaveValueAsync("tiny-shapes");

            await page.FillAsync("#prompt", "a large yellow square in the center on a purple background");
            await page.FillAsync("#seed", "1234");
            await page.FillAsync("#steps", "12");
            await page.ClickAsync("#generate-button");

            await Assertions.Expect(page.Locator("#current-image")).ToBeVisibleAsync(new() { Timeout = 120_000 });
            await Assertions.Expect(page.Locator("#infotext")).ToContainTextAsync("a large yellow square in the center on a purple background\nSteps: 12, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 128x128");
            await Assertions.Expect(page.Locator("#gallery img")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#generate-button")).ToBeEnabledAsync();
            string src = (await page.GetAttributeAsync("#current-image", "src"))!;
            var png = PngDecoder.Decode(Convert.FromBase64String(src["data:image/png;base64,".Length..]));
            Assert.Equal(128, png.Image.Width);

            if (Environment.GetEnvironmentVariable("SDSHARP_SCREENSHOT") is { Length: > 0 } screenshot)
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            Assert.Empty(errors);
        }
    }

    [Fact]
    public async Task PaintingAMaskOverAnInitImageInpaints()
    {
        string file = Path.Combine(f.Root, "init.png");
        var init = new Image(128, 128, 3);
        Array.Fill(init.Pixels, (byte)200);
        PngEncoder.Save(init, file);
        var (playwright, browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            var page = await browser.NewPageAsync();
            await page.GotoAsync(f.Server.Address.ToString());
            await Assertions.Expect(page.Locator("#width")).ToHaveValueAsync("128");
            await page.ClickAsync("#tabs button[data-tab='img2img']");
            await page.SetInputFilesAsync("#init-file", file);
            var canvas = page.Locator("#mask-canvas");
            await Assertions.Expect(canvas).ToBeVisibleAsync();
            var box = (await canvas.BoundingBoxAsync())!;
            await page.Mouse.MoveAsync(box.X + box.Width * 0.3f, box.Y + box.Height * 0.5f);
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync(box.X + box.Width * 0.7f, box.Y + box.Height * 0.5f, new() { Steps = 8 });
            await page.Mouse.UpAsync();
            await page.FillAsync("#prompt", "a small red circle in the center on a white background");
            await page.FillAsync("#steps", "6");
            await page.ClickAsync("#generate-button");
            await Assertions.Expect(page.Locator("#infotext")).ToContainTextAsync("Mask blur: 4", new() { Timeout = 120_000 });
            await Assertions.Expect(page.Locator("#infotext")).ToContainTextAsync("Denoising strength: 0.75");
        }
    }

    [Fact]
    public async Task DroppingAPngOnPngInfoShowsItsParameters()
    {
        string file = Path.Combine(f.Root, "info.png");
        PngEncoder.Save(new Image(8, 8, 3), file, [PngText.For("parameters", "a cat\nSteps: 20, Sampler: Euler a, Seed: 5, Size: 8x8")]);
        var (playwright, browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            var page = await browser.NewPageAsync();
            await page.GotoAsync(f.Server.Address.ToString());
            await page.ClickAsync("#tabs button[data-tab='pnginfo']");
            await page.SetInputFilesAsync("#png-file", file);
            await Assertions.Expect(page.Locator("#png-parameters")).ToContainTextAsync("Steps: 20, Sampler: Euler a, Seed: 5");
            await Assertions.Expect(page.Locator("#png-fields")).ToContainTextAsync("Seed");
            await page.ClickAsync("#png-send");
            await Assertions.Expect(page.Locator("#prompt")).ToHaveValueAsync("a cat");
            await Assertions.Expect(page.Locator("#seed")).ToHaveValueAsync("5");
        }
    }
}
