using SdSharp.Models.Unet;
using SdSharp.Sampling;
using SdSharp.Tensors;
using SdSharp.Text.Conditioning;

namespace SdSharp.Generation;

/// <summary>
/// D(x, σ) for the samplers, as A1111's CFGDenoiser computes it: every AND part of the prompt and the negative
/// prompt evaluated by the UNet on the same x, combined by classifier-free guidance
/// D = D_uncond + Σ_k w_k·cfg·(D_k − D_uncond), with the prediction type's scalings around the network.
/// Counts its own calls: the prompt schedule advances per model call, as A1111's does.
/// </summary>
internal sealed class GuidedDenoiser : IDenoiser, IDisposable
{
    private readonly UNetModel _unet;
    private readonly PromptConditioning _conditioning;
    private readonly ModelWrapper _wrapper;
    private readonly double _cfg;
    private readonly int _batch;
    private readonly VectorConditioning? _vector;
    private readonly Tensor? _imageConditioning;
    private readonly InpaintBlend? _blend;
    private readonly IBackend _backend;

    public GuidedDenoiser(UNetModel unet, PromptConditioning conditioning, ModelWrapper wrapper, double cfgScale, int batch,
        VectorConditioning? vector = null, Tensor? imageConditioning = null, InpaintBlend? blend = null)
    {
        _unet = unet;
        _backend = unet.Backend;
        _conditioning = conditioning;
        _wrapper = wrapper;
        _cfg = cfgScale;
        _batch = batch;
        _vector = vector;
        _imageConditioning = imageConditioning;
        _blend = blend;
    }

    /// <summary>Model calls so far: the step whose conditioning the next call uses.</summary>
    public int Calls { get; private set; }

    public Tensor Denoise(Tensor x, double sigma)
    {
        var step = _conditioning.ConditioningAt(Calls++);
        var call = _wrapper.At(sigma);
        using var scaled = _backend.Affine(x, (float)call.InputScale);
        using var input = _imageConditioning == null ? null : _backend.Concat([scaled, _imageConditioning], -1);
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
                var next = _backend.Axpby(1f, guided, (float)(parts[k].Weight * _cfg), difference);
                guided.Dispose();
                guided = next;
            }
            using (guided)
            {
                var denoised = _backend.Axpby((float)call.Skip, x, (float)call.Output, guided);
                if (_blend == null) return denoised;
                using (denoised) return _blend.Apply(denoised);
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
        using var t = _backend.Full(new Shape(n * _batch), (float)timestep);
        using var pooled = _vector == null ? null : Repeat(group.Select(c => c.Pooled ?? throw new InvalidOperationException("SDXL conditioning without a pooled embedding")).ToList());
        using var timeIds = _vector?.TimeIds(group, c => ReferenceEquals(c, negative), _batch);
        using var output = _unet.Forward(x, t, context, pooled, timeIds);
        return Enumerable.Range(0, n).Select(i => _backend.Slice(output, 0, i * _batch, _batch)).ToList();
    }

    /// <summary>Each [1, ...] conditioning repeated for every image of the batch, stacked in group order.</summary>
    private Tensor Repeat(List<Tensor> perConditioning)
    {
        var items = new List<Tensor>();
        foreach (var c in perConditioning)
            for (int b = 0; b < _batch; b++) items.Add(c);
        return _backend.Concat(items, 0);
    }

    public void Dispose() => _conditioning.Dispose();
}

/// <summary>
/// SDXL's size conditioning, appended to the pooled text in the UNet's vector: original size, crop and target
/// size (base), or original size, crop and aesthetic score (refiner, with a lower score for the negative prompt).
/// </summary>
internal sealed class VectorConditioning(IBackend backend, float[] positive, float[] negative)
{
    public Tensor TimeIds(List<TextConditioning> group, Func<TextConditioning, bool> isNegative, int batch)
    {
        var values = new List<float>();
        foreach (var c in group)
            for (int b = 0; b < batch; b++) values.AddRange(isNegative(c) ? negative : positive);
        return backend.FromHost(values.ToArray(), new Shape(group.Count * batch, positive.Length));
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
