namespace SdSharp.Imaging;

/// <summary>The seven passes of Adam7 interlacing: each pass samples every XStep-th pixel of every YStep-th row.</summary>
internal readonly record struct Adam7Pass(int XStart, int YStart, int XStep, int YStep)
{
    public static readonly Adam7Pass[] All =
    [
        new(0, 0, 8, 8), new(4, 0, 8, 8), new(0, 4, 4, 8), new(2, 0, 4, 4),
        new(0, 2, 2, 4), new(1, 0, 2, 2), new(0, 1, 1, 2),
    ];

    /// <summary>The whole image as one "pass", so non-interlaced images share the interlaced code path.</summary>
    public static readonly Adam7Pass Full = new(0, 0, 1, 1);

    /// <summary>Pixels per row of this pass in an image <paramref name="width"/> wide; 0 when the pass is empty.</summary>
    public int Columns(int width) => width > XStart ? (width - XStart + XStep - 1) / XStep : 0;

    public int Rows(int height) => height > YStart ? (height - YStart + YStep - 1) / YStep : 0;
}
