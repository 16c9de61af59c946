using SdSharp.Cuda;
using SdSharp.IO;
using SdSharp.Models;
using SdSharp.Models.Layers;
using SdSharp.Models.Unet;
using SdSharp.Models.Vae;
using SdSharp.Tensors;
using SdSharp.Text.Encoders;

namespace SdSharp.Bench;

/// <summary>
/// Full-size random-weight single files (tools/reference/make_fullsize_check.py) opened the normal way —
/// detection included — and every network's output compared with diffusers'/transformers' fp32 outputs, on the
/// CUDA backend in fp32 (and the UNet in fp16, for NaN/Inf and its error). Prints one line per check.
/// </summary>
internal static class VerifyFull
{
    public static int Run(string dir)
    {
        foreach (string path in Directory.GetFiles(dir, "*.safetensors").Where(p => !p.EndsWith(".reference.safetensors")).Order())
        {
            string family = Path.GetFileNameWithoutExtension(path);
            using var reference = SafetensorsFile.Open(Path.Combine(dir, family + ".reference.safetensors"));
            using var checkpoint = Checkpoint.Open(path);
            var u = checkpoint.UnetConfig;
            Console.WriteLine($"== {family}: detected {Checkpoint.Describe(checkpoint.Family)}{(checkpoint.IsInpainting ? " inpainting" : "")}, prediction {checkpoint.Prediction} ({checkpoint.PredictionSource}), " +
                $"UNet {string.Join("/", u.LevelChannels)} heads {string.Join("/", u.Heads)} depth {string.Join("/", u.TransformerDepth)}+{u.MiddleTransformerDepth} context {u.ContextDim}");
            foreach (var dtype in new[] { DType.F32, DType.F16 })
            {
                using var gpu = CudaBackend.Create(dtype);
                using (var unet = new UNetModel(gpu, checkpoint.Unet, u))
                {
                    using var x = ReferenceTensors.Nhwc(gpu, reference, "unet_sample");
                    using var t = gpu.Scalars(reference.Find("unet_timestep")!.ToFloat32());
                    using var ctx = ReferenceTensors.Plain(gpu, reference, "unet_context");
                    using var te = u.AdmInChannels == null ? null : ReferenceTensors.Plain(gpu, reference, "unet_text_embeds");
                    using var ids = u.AdmInChannels == null ? null : ReferenceTensors.Plain(gpu, reference, "unet_time_ids");
                    using var output = unet.Forward(x, t, ctx, te, ids);
                    Report($"unet ({dtype})", ReferenceTensors.NhwcValues(reference, "unet_out"), output.ToArray());
                }
                if (dtype != DType.F32) continue;
                float scaling = checkpoint.Family is ModelFamily.SDXL or ModelFamily.SDXLRefiner ? VaeConfig.SdxlScalingFactor : VaeConfig.SdScalingFactor;
                using (var vae = new AutoencoderKL(gpu, checkpoint.Vae!, VaeConfig.FromWeights(checkpoint.Vae!, scaling)))
                {
                    using var image = ReferenceTensors.Nhwc(gpu, reference, "vae_image");
                    using var moments = vae.Encode(image);
                    Report("vae encoder mean", ReferenceTensors.NhwcValues(reference, "vae_mean"), moments.Mean.ToArray());
                    Report("vae encoder logvar", ReferenceTensors.NhwcValues(reference, "vae_logvar"), moments.LogVar.ToArray());
                    using var latent = ReferenceTensors.Nhwc(gpu, reference, "vae_latent");
                    using var decoded = vae.Decode(latent);
                    Report("vae decoder", ReferenceTensors.NhwcValues(reference, "vae_decoded"), decoded.ToArray());
                }
                if (checkpoint.TextEncoder != null) TextEncoder(gpu, reference, checkpoint.TextEncoder, "text_encoder",
                    checkpoint.Family == ModelFamily.SD2 ? ClipTextFlavor.OpenClip : ClipTextFlavor.OpenAi, checkpoint.Family == ModelFamily.SD2 ? 23 : null);
                if (checkpoint.TextEncoder2 != null) TextEncoder(gpu, reference, checkpoint.TextEncoder2, "text_encoder_2", ClipTextFlavor.OpenClip, null);
            }
        }
        return 0;
    }

    /// <param name="diffusersLayers">diffusers keeps SD 2's encoder without its last block: compare at that depth.</param>
    private static void TextEncoder(IBackend gpu, SafetensorsFile reference, Models.Weights.WeightMap map, string name,
        ClipTextFlavor flavor, int? diffusersLayers)
    {
        var config = ClipTextConfig.FromWeights(map, flavor);
        using var weights = new DeviceWeights(gpu, map);
        var model = new ClipTextModel(weights.Root, config);
        weights.Complete();
        int[] ids = reference.Find($"{name}_ids")!.ToFloat32().Select(v => (int)v).ToArray();
        int layers = diffusersLayers ?? config.Layers;
        using var output = model.Encode(ids, 2, layers, keep: [layers - 1, layers]);
        Report($"{name} penultimate ({config.Layers} layers in the file)", reference.Find($"{name}_penultimate")!.ToFloat32(), output.Hidden(layers - 1).ToArray());
        using (var last = output.FinalLayerNorm(layers)) Report($"{name} last_hidden_state", reference.Find($"{name}_last")!.ToFloat32(), last.ToArray());
        if (reference.Find($"{name}_text_embeds") is TensorEntry embeds)
        {
            using var projected = output.Projected();
            Report($"{name} text_embeds", embeds.ToFloat32(), projected.ToArray());
        }
        else if (diffusersLayers == null) // SD 2 conditions on no pooled output; its reference pools diffusers' shorter tower
        {
            using var pooled = output.Pooled();
            Report($"{name} pooled", reference.Find($"{name}_pooled")!.ToFloat32(), pooled.ToArray());
        }
    }

    private static void Report(string what, float[] expected, float[] actual)
    {
        double worst = expected.Zip(actual).Max(p => Math.Abs(p.First - (double)p.Second));
        bool finite = actual.All(float.IsFinite);
        Console.WriteLine(FormattableString.Invariant($"  {what,-48} rel L2 {ReferenceTensors.RelativeL2(expected, actual):E2}  max abs {worst:E2}{(finite ? "" : "  NON-FINITE VALUES")}"));
    }
}
