using SdSharp.Text;

namespace SdSharp.Tests.Text.Tokenizer;

/// <summary>Our NFC against values Python's unicodedata.normalize("NFC", ...) gives.</summary>
public class UnicodeNfcTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]              // composition
    [InlineData("\u212B", "\u00C5")]               // singleton: ANGSTROM SIGN
    [InlineData("\u2126", "\u03A9")]               // singleton: OHM SIGN
    [InlineData("\uF900", "\u8C48")]               // CJK compatibility ideograph
    [InlineData("a\u0323\u0302", "\u1EAD")]        // marks in canonical order
    [InlineData("a\u0302\u0323", "\u1EAD")]        // marks reordered first
    [InlineData("\u1E0B\u0323", "\u1E0D\u0307")]   // decomposed, reordered, recomposed differently
    [InlineData("\u0958", "\u0915\u093C")]         // composition exclusion stays decomposed
    [InlineData("\u0344", "\u0308\u0301")]         // non-starter decomposition
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]   // Hangul L+V+T
    [InlineData("\uAC00\u11A8", "\uAC01")]         // Hangul LV+T
    [InlineData("a\u0301\u0301", "\u00E1\u0301")]  // the second acute is blocked by the first
    [InlineData("a\u0305\u0301", "a\u0305\u0301")] // blocked by a mark of the same class
    [InlineData("\u0B47\u0B3E", "\u0B4B")]         // two starters compose
    [InlineData("\u0301e", "\u0301e")]             // a leading mark has no starter to join
    [InlineData("plain ascii", "plain ascii")]
    public void Normalizes_like_Python(string input, string expected) => Assert.Equal(expected, UnicodeNfc.Normalize(input));

    [Fact]
    public void Knows_combining_classes()
    {
        Assert.Equal(230, UnicodeNfc.CombiningClass(0x301));
        Assert.Equal(220, UnicodeNfc.CombiningClass(0x323));
        Assert.Equal(0, UnicodeNfc.CombiningClass('a'));
        Assert.Equal(0, UnicodeNfc.CombiningClass(0x1F600));
    }

    [Fact]
    public void Text_below_U0300_is_left_alone()
    {
        Assert.False(UnicodeNfc.MayChange("Crème brûlée, naïve façade"));
        Assert.True(UnicodeNfc.MayChange("東京"));
    }
}
