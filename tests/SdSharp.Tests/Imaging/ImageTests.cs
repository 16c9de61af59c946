using SdSharp.Imaging;

namespace SdSharp.Tests.Imaging;

public class ImageTests
{
    [Fact]
    public void ToRgb_drops_alpha_and_replicates_gray_like_PIL()
    {
        var rgba = new Image(2, 1, 4, [10, 20, 30, 0, 40, 50, 60, 128]);
        var grayAlpha = new Image(2, 1, 2, [7, 0, 200, 255]);

        Assert.Equal([10, 20, 30, 40, 50, 60], rgba.ToRgb().Pixels);
        Assert.Equal([7, 7, 7, 200, 200, 200], grayAlpha.ToRgb().Pixels);
    }

    [Fact]
    public void ToRgba_adds_opaque_alpha()
    {
        Assert.Equal([1, 2, 3, 255], new Image(1, 1, 3, [1, 2, 3]).ToRgba().Pixels);
        Assert.Equal([9, 9, 9, 255, 8, 8, 8, 255], new Image(2, 1, 1, [9, 8]).ToRgba().Pixels);
        Assert.Equal([5, 5, 5, 6], new Image(1, 1, 2, [5, 6]).ToRgba().Pixels);
    }

    [Fact]
    public void ToGray_uses_PIL_luma_weights()
    {
        // PIL: Image.new("RGB", ...) of pure red, green, blue and a gray converts to L as 76, 150, 29, 100.
        var rgb = new Image(4, 1, 3, [255, 0, 0, 0, 255, 0, 0, 0, 255, 100, 100, 100]);

        Assert.Equal([76, 150, 29, 100], rgb.ToGray().Pixels);
        Assert.Equal([3], new Image(1, 1, 2, [3, 99]).ToGray().Pixels);
    }

    [Fact]
    public void Conversions_copy_rather_than_alias()
    {
        var rgb = new Image(1, 1, 3, [1, 2, 3]);

        Image copy = rgb.ToRgb();
        copy.Pixels[0] = 99;

        Assert.Equal(1, rgb.Pixels[0]);
    }

    [Fact]
    public void Pixel_buffer_must_match_the_size()
    {
        Assert.Throws<ArgumentException>(() => new Image(2, 2, 3, new byte[11]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Image(2, 2, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Image(0, 2, 3));
    }
}
