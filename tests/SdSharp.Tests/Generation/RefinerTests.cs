using SdSharp.Cpu;
using SdSharp.Generation;
using SdSharp.Models;
using SdSharp.Sampling;

namespace SdSharp.Tests.Generation;

/// <summary>The refiner hand-off (A1111's refiner_checkpoint / refiner_switch_at) on the tiny SDXL base and refiner.</summary>
public sealed class RefinerTests : IDisposable
{
    private readonly CpuBackend _cpu = new(threads: 2);
    private readonly StableDiffusionModel _base;
    private readonly StableDiffusionModel _refiner;

    public RefinerTests()
    {
        // The tiny encoders have 1000-token vocabularies: the bundled model's small tokenizer fits them.
        var options = new ModelLoadOptions { Tokenizer = Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes", "tokenizer") };
        _base = StableDiffusionModel.Load(TestPaths.Fixture("models", "sdxl", "diffusers"), _cpu, options);
        _refiner = StableDiffusionModel.Load(TestPaths.Fixture("models", "refiner", "diffusers"), _cpu, options);
    }

    private static GenerationRequest Request(double? switchAt) => new()
    {
        Prompt = "a red circle", NegativePrompt = "blue", Seed = 5, Steps = 6, SamplerName = "Euler", Width = 64, Height = 64,
        RefinerCheckpoint = "tiny-refiner", RefinerSwitchAt = switchAt,
    };

    private Generator WithRefiner() => new(_base) { Refiners = name => new RefinerModel(_refiner, $"{name} [0123456789]") };

    [Fact]
    public void SwitchingAtZeroIsTheRefinerAloneAndAtOneTheBaseAlone()
    {
        var refinedFromStart = WithRefiner().Generate(Request(0)).Images[0];
        var refinerAlone = new Generator(_refiner).Generate(Request(0) with { RefinerCheckpoint = null }).Images[0];
        Assert.Equal(refinerAlone.Latent, refinedFromStart.Latent);
        Assert.Equal(refinerAlone.Image.Pixels, refinedFromStart.Image.Pixels);
        Assert.Contains("Refiner: tiny-refiner [0123456789], Refiner switch at: 0", refinedFromStart.Infotext.Text);

        // (999 − t)/1000 never reaches 1: the refiner never runs and the infotext does not name it.
        var neverSwitched = WithRefiner().Generate(Request(1)).Images[0];
        var baseAlone = new Generator(_base).Generate(Request(1) with { RefinerCheckpoint = null }).Images[0];
        Assert.Equal(baseAlone.Latent, neverSwitched.Latent);
        Assert.DoesNotContain("Refiner", neverSwitched.Infotext.Text);
    }

    [Fact]
    public void SwitchingPartWayDiffersFromBothModels()
    {
        var halfway = WithRefiner().Generate(Request(0.5)).Images[0];
        var baseAlone = new Generator(_base).Generate(Request(0.5) with { RefinerCheckpoint = null }).Images[0];
        var refinerAlone = new Generator(_refiner).Generate(Request(0.5) with { RefinerCheckpoint = null }).Images[0];
        Assert.NotEqual(baseAlone.Latent, halfway.Latent);
        Assert.NotEqual(refinerAlone.Latent, halfway.Latent);
        Assert.All(halfway.Latent!, v => Assert.True(float.IsFinite(v)));
        Assert.Contains("Refiner switch at: 0.5", halfway.Infotext.Text);
    }

    [Fact]
    public void TheSwitchComesAtTheNoiseLevelA1111Computes()
    {
        // completed = (999 − t)/1000 with t the table timestep nearest σ.
        var table = NoiseSchedule.StableDiffusion.Sigmas;
        var handOff = new RefinerHandOff(null!, 0.8);
        Assert.True(handOff.Due(table[199], NoiseSchedule.StableDiffusion));
        Assert.False(handOff.Due(table[200], NoiseSchedule.StableDiffusion));
        Assert.True(handOff.Due(0.5 * (table[199] + table[200]) - 1e-6, NoiseSchedule.StableDiffusion));
        Assert.True(new RefinerHandOff(null!, null).Due(table[^1], NoiseSchedule.StableDiffusion));
    }

    [Fact]
    public void RefinersOfAnotherLatentSpaceOrWithoutALoaderAreUserErrors()
    {
        using var sd1 = StableDiffusionModel.Load(Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"), _cpu);
        var mixed = new Generator(_base) { Refiners = _ => new RefinerModel(sd1, "tiny-shapes") };
        var error = Assert.Throws<InvalidInputException>(() => mixed.Generate(Request(0.5)));
        Assert.Contains("latent space", error.Message);
        Assert.Throws<InvalidInputException>(() => new Generator(_base).Generate(Request(0.5)));
        Assert.Throws<InvalidInputException>(() => WithRefiner().Generate(Request(1.5)));
        // A1111's "None" means no refiner.
        Assert.DoesNotContain("Refiner", new Generator(_base).Generate(Request(0.5) with { RefinerCheckpoint = "None" }).Images[0].Infotext.Text);
    }

    public void Dispose()
    {
        _base.Dispose();
        _refiner.Dispose();
        _cpu.Dispose();
    }
}
