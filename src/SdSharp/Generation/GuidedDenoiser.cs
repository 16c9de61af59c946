using SdSharp.Models.Unet;
using SdSharp.Sampling;
using SdSharp.Tensors;
using SdSharp.Text.Conditioning;

namespace SdSharp.Generation;

/// <summary>
/// One network the denoiser can evaluate: a UNet with this request's text conditioning, SDXL's size (or
/// aesthetic) vector, the extra input channels of an inpainting model, and the scalings of its prediction type.
/// </summary>
internal sealed class DenoisingNetwork(UNetModel unet, PromptConditioning conditioning, ModelWrapper wrapper,
    VectorConditioning? vector = null, Tensor? imageConditioning = null) : IDisposable
{
    public UNetModel Unet => unet;
    public PromptConditioning Conditioning => conditioning;
    public ModelWrapper Wrapper => wrapper;
    public VectorConditioning? Vector => vector;
    public Tensor? ImageConditioning => imageConditioning;

    public void Dispose()
    {
        conditioning.Dispose();
        imageConditioning?.Dispose();
        vector?.Dispose();
    }
}

/// <summary>
/// A1111's refiner hand-off: once the step reached has completed <see cref="SwitchAt"/> of the noise schedule,
/// every later call goes to the refiner. Null <see cref="SwitchAt"/> switches at the first call, as A1111 does.
/// </summary>
internal sealed record RefinerHandOff(DenoisingNetwork Network, double? SwitchAt)
{
    /// <summary>
    /// A1111's completed ratio: (999 − t)/1000 with t the schedule's timestep nearest to σ; for a 1000-step schedule
    /// it moves with the noise level, not the step count, so the switch lands at the same σ for every sampler.
    /// </summary>
    public bool Due(double sigma, NoiseSchedule schedule)
    {
        if (SwitchAt is not double at) return true;
        var table = schedule.Sigmas;
        int nearest = 0;
        for (int t = 1; t < table.Length; t++)
            if (Math.Abs(table[t] - sigma) < Math.Abs(table[nearest] - sigma)) nearest = t;
        double completed = (table.Length - 1 - nearest) / (double)table.Length;
        return completed >= at;
    }
}

/// <summary>
/// D(x, σ) for the samplers, as A1111's CFGDenoiser computes it: every AND part of the prompt and the negative
/// prompt evaluated by the UNet on the same x, combined by classifier-free guidance
/// D = D_uncond + Σ_k w_k·cfg·(D_k − D_uncond), with the prediction type's scalings around the network.
/// Counts its own calls: the prompt schedule advances per model call, as A1111's does.
/// </summary>
internal sealed class GuidedDenoiser(DenoisingNetwork network, double cfgScale, int batch, InpaintBlend? blend = null,
    RefinerHandOff? refiner = null) : IDenoiser
{
    private readonly IBackend _backend = network.Unet.Backend;
    private DenoisingNetwork _network = network;

    /// <summary>Model calls so far: the step whose conditioning the next call uses.</summary>
    public int Calls { get; private set; }

    /// <summary>Whether the refiner has taken over.</summary>
    public bool Refined { get; private set; }

    public Tensor Denoise(Tensor x, double sigma)
    {
        if (refiner != null && !Refined && refiner.Due(sigma, _network.Wrapper.Schedule))
        {
            _network = refiner.Network;
            Refined = true;
        }
        var step = _network.Conditioning.ConditioningAt(Calls++);
        var call = _network.Wrapper.At(sigma);
        using var scaled = _backend.Affine(x, (float)call.InputScale);
        using var input = _network.ImageConditioning == null ? null : _backend.Concat([scaled, _network.ImageConditioning], -1);
        Tensor networkInput = input ?? scaled;

        // Outputs of the network for each AND part, then for the negative prompt.
        var parts = step.Positive;
        var outputs = new List<Tensor>(parts.Count + 1);
        try
        {
            foreach (var group in Groups(step))
                outputs.AddRange(Evaluate(networkInput, call.Timestep, group, step.Negative));

            // Guidance on the network outputs (D is linear in them): e = e_u + Σ w·cfg·(e_k − e_u).
            Tensor uncond = outputs[^1];
            Tensor guided = _backend.Affine(uncond, 1f);
            for (int k = 0; k < parts.Count; k++)
            {
                using var difference = _backend.Axpby(1f, outputs[k], -1f, uncond);
                var next = _backend.Axpby(1f, guided, (float)(parts[k].Weight * cfgScale), difference);
                guided.Dispose();
                guided = next;
            }
            using (guided)
            {
                var denoised = _backend.Axpby((float)call.Skip, x, (float)call.Output, guided);
                if (blend == null) return denoised;
                using (denoised) return blend.Apply(denoised);
            }
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
    }

    /// <summary>
    /// Conditionings evaluated together: all of them in one UNet batch when their token lengths match (A1111
    /// batches cond and uncond the same way), otherwise one pass per distinct length. Order: parts, then negative.
    /// </summary>
    private static IEnumerable<List<TextConditioning>> Groups(StepConditioning step)
    {
        var all = step.Positive.Select(p => p.Conditioning).Append(step.Negative).ToList();
        if (all.All(c => c.Chunks == all[0].Chunks))
        {
            yield return all;
            yield break;
        }
        foreach (var c in all) yield return [c];
    }

    /// <summary>The network's output for each conditioning of a group, one [batch, h, w, c] tensor each.</summary>
    private List<Tensor> Evaluate(Tensor networkInput, double timestep, List<TextConditioning> group, TextConditioning negative)
    {
        int n = group.Count;
        using var x = n == 1 ? _backend.Affine(networkInput, 1f) : _backend.Concat(Enumerable.Repeat(networkInput, n).ToList(), 0);
        using var context = Repeat(group.Select(c => c.CrossAttention).ToList());
        Span<float> timesteps = stackalloc float[n * batch];
        timesteps.Fill((float)timestep);
        using var t = _backend.Scalars(timesteps);
        var vector = _network.Vector;
        using var pooled = vector == null ? null : Repeat(group.Select(c => c.Pooled ?? throw new InvalidOperationException("SDXL conditioning without a pooled embedding")).ToList());
        var timeIds = vector?.TimeIds(group, c => ReferenceEquals(c, negative), batch); // owned by the vector
        using var output = _network.Unet.Forward(x, t, context, pooled, timeIds);
        return Enumerable.Range(0, n).Select(i => _backend.Slice(output, 0, i * batch, batch)).ToList();
    }

    /// <summary>Each [1, ...] conditioning repeated for every image of the batch, stacked in group order.</summary>
    private Tensor Repeat(List<Tensor> perConditioning)
    {
        var items = new List<Tensor>();
        foreach (var c in perConditioning)
            for (int b = 0; b < batch; b++) items.Add(c);
        return _backend.Concat(items, 0);
    }
}

/// <summary>
/// SDXL's size conditioning, appended to the pooled text in the UNet's vector: original size, crop and target
/// size (base), or original size, crop and aesthetic score (refiner, with a lower score for the negative prompt).
/// </summary>
internal sealed class VectorConditioning(IBackend backend, float[] positive, float[] negative) : IDisposable
{
    // The numbers are the same at every step: uploaded once per arrangement of prompt and negative rows, not per
    // UNet call (an upload waits for the GPU).
    private readonly Dictionary<string, Tensor> _uploaded = [];

    /// <summary>[group × batch, n] rows for the group's conditionings; the tensor stays owned by this object.</summary>
    public Tensor TimeIds(List<TextConditioning> group, Func<TextConditioning, bool> isNegative, int batch)
    {
        string key = string.Concat(group.Select(c => isNegative(c) ? 'n' : 'p')) + batch;
        if (_uploaded.TryGetValue(key, out var known)) return known;
        var values = new List<float>();
        foreach (var c in group)
            for (int b = 0; b < batch; b++) values.AddRange(isNegative(c) ? negative : positive);
        return _uploaded[key] = backend.FromHost(values.ToArray(), new Shape(group.Count * batch, positive.Length));
    }

    public void Dispose()
    {
        foreach (var tensor in _uploaded.Values) tensor.Dispose();
        _uploaded.Clear();
    }

    /// <summary>diffusers' and A1111's defaults: original = target = the image size, crop (0, 0).</summary>
    public static VectorConditioning ForSdxl(IBackend backend, int width, int height) =>
        new(backend, [height, width, 0, 0, height, width], [height, width, 0, 0, height, width]);

    /// <summary>The refiner: aesthetic score 6 for the prompt and 2.5 for the negative (A1111's and diffusers' defaults).</summary>
    public static VectorConditioning ForRefiner(IBackend backend, int width, int height) =>
        new(backend, [height, width, 0, 0, 6f], [height, width, 0, 0, 2.5f]);
}

/// <summary>
/// Inpainting with an ordinary model (A1111's CFGDenoiser mask): after every model call the unmasked area of
/// the estimate is replaced by the original latent, x0 = init·(1 − mask) + x0·mask, with the latent-size mask.
/// </summary>
internal sealed class InpaintBlend(IBackend backend, Tensor initLatent, Tensor mask, Tensor inverseMask) : IDisposable
{
    public Tensor Apply(Tensor denoised)
    {
        using var kept = backend.Binary(initLatent, BinaryOp.Multiply, inverseMask);
        using var painted = backend.Binary(denoised, BinaryOp.Multiply, mask);
        return backend.Axpby(1f, kept, 1f, painted);
    }

    public void Dispose()
    {
        initLatent.Dispose();
        mask.Dispose();
        inverseMask.Dispose();
    }
}
