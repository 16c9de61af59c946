using System.Diagnostics;
using SdSharp.Imaging;

namespace SdSharp.Bench;

/// <summary>PNG encode and decode times for a 512x512 RGB image, the size every SD 1.x generation saves.</summary>
internal static class PngBench
{
    public static int Run()
    {
        foreach (var (name, image) in new[] { ("smooth", Smooth(512, 512)), ("noise", Noise(512, 512)) })
        {
            foreach (int level in new[] { 1, 6, 9 })
            {
                var options = new PngEncoderOptions { CompressionLevel = level };
                byte[] png = PngEncoder.Encode(image, options: options);
                double encode = Median(() => PngEncoder.Encode(image, options: options));
                double decode = Median(() => PngDecoder.Decode(png));
                Console.WriteLine($"{name,-6} 512x512 RGB  level {level}:  encode {encode,6:F1} ms  decode {decode,5:F1} ms  {png.Length,8} bytes");
            }
        }
        return 0;
    }

    private static double Median(Action action)
    {
        for (int i = 0; i < 3; i++) action(); // warm up the JIT (tiered PGO) before timing
        var times = new double[15];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    // Gradients, soft waves and a little noise: compresses roughly like a generated picture.
    private static Image Smooth(int width, int height)
    {
        var random = new Random(1);
        var image = new Image(width, height, 3);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                {
                    double v = 128 + 60 * Math.Sin(x / (23.0 + 7 * c)) * Math.Cos(y / 31.0) + 0.15 * (x - y) + random.Next(-3, 4);
                    image.Pixels[(y * width + x) * 3 + c] = (byte)Math.Clamp(v, 0, 255);
                }
        return image;
    }

    private static Image Noise(int width, int height)
    {
        var image = new Image(width, height, 3);
        new Random(2).NextBytes(image.Pixels);
        return image;
    }
}
