using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

public sealed class QuotingTests
{
    [Theory]
    [InlineData("DPM++ 2M", "DPM++ 2M")]
    [InlineData("R-ESRGAN 4x+", "R-ESRGAN 4x+")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("add_detail: 7c6bad76eb54", "\"add_detail: 7c6bad76eb54\"")]
    [InlineData("two\nlines", "\"two\\nlines\"")]
    [InlineData("tab\tonly", "tab\tonly")] // only ',', ':' and newlines trigger quoting
    [InlineData("cr\ronly", "cr\ronly")]
    [InlineData("say \"hi\"", "say \"hi\"")]
    public void QuotesOnlyWhenA1111Does(string value, string expected) => Assert.Equal(expected, ImageInfotext.Quote(value));

    [Fact]
    public void QuotedTextIsPythonJsonWithNonAsciiKept()
    {
        // CPython: json.dumps('a "q"\\ \n\t\x01 \x1f é 東 \x7f \u2028 \r\b\f,', ensure_ascii=False)
        string value = "a \"q\"\\ \n\t\x01 \x1f é 東 \x7f \u2028 \r\b\f,";
        Assert.Equal("\"a \\\"q\\\"\\\\ \\n\\t\\u0001 \\u001f é 東 \x7f \u2028 \\r\\b\\f,\"", ImageInfotext.Quote(value));
    }

    [Theory]
    [InlineData("\"a \\\"q\\\" \\u00e9 \\ud83d\\ude00\"", "a \"q\" é 😀")]
    [InlineData("\"a\\/b\"", "a/b")]
    [InlineData("\"x\\ty\"", "x\ty")]
    public void UnquoteDecodesJson(string quoted, string expected) => Assert.Equal(expected, InfotextParser.Unquote(quoted));

    [Theory]
    [InlineData("\"bad \\x escape\"")]
    [InlineData("\"raw\ttab\"")] // strict JSON refuses control characters
    [InlineData("\"a\" \"b\"")] // extra data after the string
    [InlineData("\"\\u12\"")]
    [InlineData("\"")]
    [InlineData("plain")]
    public void InvalidJsonStaysAsWritten(string value) => Assert.Equal(value, InfotextParser.Unquote(value));

    [Fact]
    public void EveryQuotedValueUnquotesToItself()
    {
        foreach (string value in new[] { "a,b", "k: v", "x\ny", "\"q\", \\", "東京, 大阪: é", "\x01,\x7f", "" })
            Assert.Equal(value, InfotextParser.Unquote(ImageInfotext.Quote(value)));
    }

    [Fact]
    public void AValueThatLooksQuotedComesBackUnquoted()
    {
        // A1111 quotes only for ',', ':' and newlines, but unquotes anything in quotes: this value loses its quotes.
        string text = new InfotextBuilder("p").Set("Steps", 1L).Set("Seed", 2L).Set("Style", "\"noir\"").Build().Text;
        Assert.Equal("p\nSteps: 1, Seed: 2, Style: \"noir\"", text);
        Assert.Equal("noir", InfotextParser.Parse(text).GetText("Style"));
    }
}
