using SdSharp.Generation;
using SdSharp.Models;

namespace SdSharp.Server.Models;

/// <summary>The image size a model was trained at: its UNet config's sample size × 8, else its family's (the web UI's default size).</summary>
internal static class NativeSize
{
    public static int Of(StableDiffusionModel model)
    {
        var folder = model.Checkpoint.ConfigFolder;
        if (folder != null && folder.HasComponent("unet") && folder.Component("unet").Config.GetInt("sample_size", 0) is int sample and > 0)
            return sample * 8;
        return model.Family switch
        {
            ModelFamily.SD1 => 512,
            ModelFamily.SD2 => model.Checkpoint.Prediction == PredictionType.V ? 768 : 512,
            _ => 1024,
        };
    }
}
