namespace SdSharp.Imaging.Ops;

/// <summary>A box in pixels, left/top inclusive and right/bottom exclusive, as A1111 and Pillow write (x1, y1, x2, y2).</summary>
public readonly record struct CropRegion(int X1, int Y1, int X2, int Y2)
{
    public int Width => X2 - X1;
    public int Height => Y2 - Y1;
}
