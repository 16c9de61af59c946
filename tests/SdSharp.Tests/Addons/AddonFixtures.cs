using SdSharp.Addons;
using SdSharp.Cpu;
using SdSharp.Generation;
using SdSharp.Tensors;
using SdSharp.Tests.Models;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Addons;

/// <summary>The add-on fixtures (tools/reference/make_addon_fixtures.py) and the model runs the tests compare.</summary>
internal static class AddonFixtures
{
    public static string Folder => TestPaths.Fixture("addons");
    public static string File(string name) => Path.Combine(Folder, name);

    /// <summary>A tiny single file (the base or a merged reference), its architecture from the family's diffusers configs.</summary>
    public static StableDiffusionModel Load(IBackend backend, string path, string family, AddonFolders? addons = null, string? vae = null) =>
        StableDiffusionModel.Load(path, backend, new ModelLoadOptions
        {
            // The tiny encoders have 1000-token vocabularies: the bundled model's small tokenizer fits them.
            Tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer"),
            Checkpoint = new SdSharp.Models.CheckpointOptions { ConfigFrom = ModelFixtures.DiffusersFolder(family) },
            Addons = addons ?? new AddonFolders { Loras = Folder },
            Vae = vae,
        });

    public static StableDiffusionModel LoadFamily(IBackend backend, string family, AddonFolders? addons = null) =>
        Load(backend, ModelFixtures.SingleFile(family), family, addons);

    public static IReadOnlyList<ExtraNetworkTag> Tags(string prompt) => ExtraNetworks.Extract(prompt).Tags;

    /// <summary>The UNet's output for fixed random inputs (SDXL's vector inputs included).</summary>
    public static float[] UnetOutput(StableDiffusionModel model)
    {
        var b = model.Backend;
        var random = new Random(7);
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        int context = model.Unet.Config.ContextDim;
        using var x = b.FromHost(Values(2 * 8 * 8 * 4), new Shape(2, 8, 8, 4));
        using var t = b.FromHost([500f, 20f], new Shape(2));
        using var c = b.FromHost(Values(2 * 10 * context), new Shape(2, 10, context));
        Tensor? embeds = null, ids = null;
        if (model.Unet.Config.AdmInChannels is int adm)
        {
            int pooled = model.TextEncoder2!.ProjectionDim!.Value;
            int idsCount = (adm - pooled) / model.Unet.Config.AddTimeEmbedDim;
            embeds = b.FromHost(Values(2 * pooled), new Shape(2, pooled));
            ids = b.FromHost(Values(2 * idsCount).Select(v => v * 100).ToArray(), new Shape(2, idsCount));
        }
        using (embeds)
        using (ids)
        using (var output = model.Unet.Forward(x, t, c, embeds, ids))
            return output.ToArray();
    }

    /// <summary>Every text encoder's last hidden state for a fixed sequence of ids.</summary>
    public static float[] TextOutput(StableDiffusionModel model)
    {
        var result = new List<float>();
        foreach (var encoder in new[] { model.TextEncoder, model.TextEncoder2 })
        {
            if (encoder == null) continue;
            int vocab = encoder.Config.VocabSize;
            int[] ids = [.. Enumerable.Range(0, 12).Select(i => (i * 37 + 5) % (vocab - 2))];
            using var output = encoder.Encode(ids, 1);
            var hidden = output.Hidden(output.Layers);
            result.AddRange(hidden.ToArray());
        }
        return [.. result];
    }

    public static double RelativeL2(float[] actual, float[] expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            num += (actual[i] - (double)expected[i]) * (actual[i] - (double)expected[i]);
            den += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(num / den);
    }

    public static CpuBackend NewCpu() => new(threads: 2);
}
