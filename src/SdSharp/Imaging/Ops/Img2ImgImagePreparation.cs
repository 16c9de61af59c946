namespace SdSharp.Imaging.Ops;

/// <summary>A1111's "masked content" (the API's <c>inpainting_fill</c>).</summary>
public enum MaskedContent
{
    /// <summary>The masked area is painted with blurred surrounding colours before encoding.</summary>
    Fill = 0,
    /// <summary>The init image is encoded as it is.</summary>
    Original = 1,
    /// <summary>The latent is replaced by noise under the mask (the picture is still filled first).</summary>
    LatentNoise = 2,
    /// <summary>The latent is zeroed under the mask (the picture is still filled first).</summary>
    LatentNothing = 3,
}

/// <summary>The image-side img2img settings, with A1111's defaults.</summary>
public sealed record Img2ImgImageOptions
{
    public int Width { get; init; } = 512;
    public int Height { get; init; } = 512;
    public ImageResizeMode ResizeMode { get; init; } = ImageResizeMode.JustResize;
    public int MaskBlurX { get; init; } = 4;
    public int MaskBlurY { get; init; } = 4;
    public bool MaskRound { get; init; } = true;
    public MaskedContent InpaintingFill { get; init; } = MaskedContent.Fill;
    /// <summary>"Inpaint area: only masked".</summary>
    public bool InpaintFullRes { get; init; } = true;
    public int InpaintFullResPadding { get; init; }
    /// <summary>"Inpaint not masked".</summary>
    public bool InvertMask { get; init; }
    /// <summary>Behind transparent init images (img2img_background_color, white by default).</summary>
    public (byte R, byte G, byte B) BackgroundColor { get; init; } = (255, 255, 255);
    /// <summary>Pixels per latent pixel (A1111's opt_f).</summary>
    public int LatentScale { get; init; } = 8;
}

/// <summary>What img2img encodes and what it pastes back afterwards, for one init image.</summary>
/// <param name="Image">The RGB picture for the VAE encoder: the processing size, except in resize mode 3 without a
/// crop, where it keeps the init image's size (the latent is interpolated instead).</param>
/// <param name="Mask">The processing-size mask (A1111's latent_mask, also the inpainting models' conditioning mask);
/// null without a mask or when "only masked" found the mask blank.</param>
/// <param name="MaskForOverlay">The mask the overlay was cut with, gray.</param>
/// <param name="Overlay">The original picture (RGBA) to composite over the result; see <see cref="InpaintOverlay.Apply"/>.</param>
/// <param name="PasteTo">Where "only masked" puts the result back (A1111's paste_to as a box).</param>
/// <param name="LatentMask">The mask at latent size: 1 where the sampler repaints.</param>
public sealed record Img2ImgImages(Image Image, Image? Mask, Image? MaskForOverlay, Image? Overlay,
                                   CropRegion? PasteTo, LatentMask? LatentMask);

/// <summary>The init image and mask preparation of A1111's StableDiffusionProcessingImg2Img.init.</summary>
public static class Img2ImgImagePreparation
{
    public static Img2ImgImages Prepare(Image initImage, Image? mask, Img2ImgImageOptions options)
    {
        ArgumentNullException.ThrowIfNull(initImage);
        ArgumentNullException.ThrowIfNull(options);
        int width = options.Width, height = options.Height;
        Image? imageMask = null, maskForOverlay = null;
        CropRegion? crop = null;
        if (mask != null)
        {
            imageMask = InpaintMask.CreateBinaryMask(mask, options.MaskRound);
            if (options.InvertMask) imageMask = InpaintMask.Invert(imageMask);
            imageMask = InpaintMask.Blur(imageMask, options.MaskBlurX, options.MaskBlurY);
            if (options.InpaintFullRes)
            {
                // A blank mask turns "only masked" into plain img2img.
                maskForOverlay = imageMask;
                if (InpaintCrop.GetCropRegion(imageMask, options.InpaintFullResPadding) is { } region)
                {
                    crop = InpaintCrop.ExpandCropRegion(region, width, height, imageMask.Width, imageMask.Height);
                    imageMask = A1111Resize.ResizeImage(ImageResizeMode.ResizeAndFill, ImageRegion.Crop(imageMask, crop.Value), width, height);
                }
                else
                {
                    imageMask = maskForOverlay = null;
                }
            }
            else
            {
                imageMask = A1111Resize.ResizeImage(options.ResizeMode, imageMask, width, height);
                maskForOverlay = InpaintMask.Doubled(imageMask);
            }
        }

        var (r, g, b) = options.BackgroundColor;
        Image image = A1111Resize.Flatten(initImage, r, g, b);
        if (crop == null && options.ResizeMode != ImageResizeMode.LatentUpscale)
            image = A1111Resize.ResizeImage(options.ResizeMode, image, width, height);

        Image? overlay = null;
        if (imageMask != null && maskForOverlay != null)
        {
            if (maskForOverlay.Width != image.Width || maskForOverlay.Height != image.Height)
                maskForOverlay = A1111Resize.ResizeImage(options.ResizeMode, maskForOverlay, image.Width, image.Height);
            maskForOverlay = PillowConvert.To(maskForOverlay, 1);
            overlay = InpaintOverlay.Create(image, maskForOverlay);
        }
        if (crop is { } c)
            image = A1111Resize.ResizeImage(ImageResizeMode.ResizeAndFill, ImageRegion.Crop(image, c), width, height);
        if (imageMask != null && options.InpaintingFill != MaskedContent.Original)
            image = MaskedContentFill.Fill(image, imageMask);

        LatentMask? latent = imageMask == null ? null
            : InpaintMask.ToLatent(imageMask, width / options.LatentScale, height / options.LatentScale, options.MaskRound);
        return new Img2ImgImages(image, imageMask, maskForOverlay, overlay, crop, latent);
    }
}
