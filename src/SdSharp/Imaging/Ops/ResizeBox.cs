namespace SdSharp.Imaging.Ops;

/// <summary>
/// The source region a resize samples (Pillow's <c>box</c> argument). Pillow keeps it in C floats, so it is
/// single precision here too; a box of zero height or width stretches one edge row or column.
/// </summary>
public readonly record struct ResizeBox(float X0, float Y0, float X1, float Y1)
{
    public static ResizeBox Of(Image image) => new(0, 0, image.Width, image.Height);
}
