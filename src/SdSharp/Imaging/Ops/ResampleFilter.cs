namespace SdSharp.Imaging.Ops;

/// <summary>Pillow's resampling filters (<c>PIL.Image.Resampling</c>), with Pillow's numbering.</summary>
public enum ResampleFilter
{
    Nearest = 0,
    Lanczos = 1,
    Bilinear = 2,
    Bicubic = 3,
    Box = 4,
    Hamming = 5,
}

/// <summary>The filter shapes of Pillow's Resample.c, evaluated in double like Pillow does.</summary>
internal static class FilterShape
{
    public static double Support(ResampleFilter filter) => filter switch
    {
        ResampleFilter.Box => 0.5,
        ResampleFilter.Bilinear or ResampleFilter.Hamming => 1.0,
        ResampleFilter.Bicubic => 2.0,
        ResampleFilter.Lanczos => 3.0,
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "Nearest has no convolution kernel."),
    };

    public static double Evaluate(ResampleFilter filter, double x) => filter switch
    {
        ResampleFilter.Box => x > -0.5 && x <= 0.5 ? 1.0 : 0.0,
        ResampleFilter.Bilinear => Bilinear(Math.Abs(x)),
        ResampleFilter.Hamming => Hamming(Math.Abs(x)),
        ResampleFilter.Bicubic => Bicubic(Math.Abs(x)),
        ResampleFilter.Lanczos => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0,
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "Nearest has no convolution kernel."),
    };

    private static double Bilinear(double x) => x < 1.0 ? 1.0 - x : 0.0;

    private static double Hamming(double x)
    {
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        // Pillow writes the window's constants as C floats; they are widened, not exact decimals.
        return Math.Sin(x) / x * ((double)0.54f + (double)0.46f * Math.Cos(x));
    }

    // Keys' cubic with a = -0.5, in Pillow's order of operations.
    private static double Bicubic(double x)
    {
        const double a = -0.5;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
