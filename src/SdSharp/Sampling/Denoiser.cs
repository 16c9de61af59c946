using SdSharp.Tensors;

namespace SdSharp.Sampling;

/// <summary>
/// The model as samplers see it: D(x, σ), an estimate of the clean latent x0 given x = x0 + σ·ε (k-diffusion
/// scaling). The pipeline implements it with the UNet, classifier-free guidance and the prediction type, using
/// <see cref="ModelWrapper"/> for the scalings; it returns a new tensor the caller disposes and leaves x alone.
/// Every sampler call is one model evaluation, so the pipeline can count steps as A1111's CFGDenoiser does.
/// </summary>
public interface IDenoiser
{
    Tensor Denoise(Tensor x, double sigma);
}

/// <summary>What the network predicts.</summary>
public enum Prediction
{
    /// <summary>The noise ε (SD 1.x, SD 2.x base, SDXL).</summary>
    Epsilon,
    /// <summary>v = √ᾱ·ε − √(1−ᾱ)·x0 (SD 2.x 768-v).</summary>
    V,
}

/// <summary>
/// One network call for D(x, σ): run the network on <c>x · InputScale</c> at <c>Timestep</c>, then
/// D = <c>Skip</c>·x + <c>Output</c>·network_output. Guidance may combine the network outputs before this
/// last line (it is linear), or the D values after it.
/// </summary>
public readonly record struct ModelCall(double Timestep, double InputScale, double Skip, double Output);

/// <summary>
/// What k-diffusion's <c>CompVisDenoiser</c> / <c>CompVisVDenoiser</c> and A1111's <c>LCMCompVisDenoiser</c> do
/// around the network: the timestep it sees and the scalings in and out. Samplers that work in timestep space
/// (DDIM, PLMS, UniPC) call D at table σ (or σ of their fractional timesteps), so the network sees exactly the
/// timesteps and inputs A1111 gives it.
/// </summary>
public sealed class ModelWrapper(NoiseSchedule schedule, Prediction prediction)
{
    public NoiseSchedule Schedule { get; } = schedule;
    public Prediction Prediction { get; } = prediction;

    public ModelCall At(double sigma)
    {
        double t = Schedule.SigmaToT(sigma);
        double cIn = 1 / Math.Sqrt(sigma * sigma + 1);
        if (Schedule.IsLcm)
        {
            // A1111 treats the LCM output as ε whatever the model, then applies LCM's boundary condition
            // D = c_out·(x − σ·ε) + c_skip·x with σ_data 0.5 and the timestep scaled by 10.
            double scaled = t * 10, sd2 = 0.25;
            double cSkip = sd2 / (scaled * scaled + sd2), cOut = scaled / Math.Sqrt(scaled * scaled + sd2);
            return new ModelCall(t, cIn, cOut + cSkip, -sigma * cOut);
        }
        return Prediction == Prediction.V
            ? new ModelCall(t, cIn, 1 / (sigma * sigma + 1), -sigma * cIn)
            : new ModelCall(t, cIn, 1, -sigma);
    }
}
