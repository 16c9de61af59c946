using SdSharp.Generation.Infotext;

namespace SdSharp.Tests.Generation.Infotext;

/// <summary>Expected values are what CPython 3 prints for the same input.</summary>
public sealed class PythonTextTests
{
    [Theory]
    [InlineData(7.0, "7.0")]
    [InlineData(7.5, "7.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.3, "0.3")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(0.75, "0.75")]
    [InlineData(100.0, "100.0")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.000123, "0.000123")]
    [InlineData(2.5e-7, "2.5e-07")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1e22, "1e+22")]
    [InlineData(12345678901234567.0, "1.2345678901234568e+16")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(-2.0, "-2.0")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void FloatsPrintLikePythonRepr(double value, string expected) => Assert.Equal(expected, PythonText.Str(value));

    [Fact]
    public void BooleansAndIntegers()
    {
        Assert.Equal("True", PythonText.Str(true));
        Assert.Equal("False", PythonText.Str(false));
        Assert.Equal("-3402852139", PythonText.Str(-3402852139L));
    }

    [Fact]
    public void StripRemovesPythonWhitespaceOnly()
    {
        Assert.Equal("a b", PythonText.Strip(" \t\r\n\v\f\x1c\x1f\x85\xa0\u3000a b\u2028\u2029 "));
        Assert.Equal("\u200ba\u200b", PythonText.Strip("\u200ba\u200b")); // zero-width space is not whitespace to Python
    }

    [Theory]
    [InlineData(" +1_000 ", 1000L)]
    [InlineData("20", 20L)]
    [InlineData("-7", -7L)]
    [InlineData("٥١٢", 512L)] // Arabic-Indic digits, which Python's int() accepts
    public void IntParsesLikePython(string text, long expected)
    {
        Assert.True(PythonText.TryParseInt(text, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("20.0")]
    [InlineData("1__0")]
    [InlineData("_1")]
    [InlineData("1_")]
    [InlineData("")]
    [InlineData("0x10")]
    [InlineData("1e3")]
    [InlineData("99999999999999999999")]
    public void IntRefusesWhatPythonRefuses(string text) => Assert.False(PythonText.TryParseInt(text, out _));

    [Theory]
    [InlineData(" 1_0.5e1_0 ", 105000000000.0)]
    [InlineData(".5", 0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("7", 7.0)]
    [InlineData("-1.5E-3", -0.0015)]
    [InlineData("-Infinity", double.NegativeInfinity)]
    [InlineData("inf", double.PositiveInfinity)]
    public void FloatParsesLikePython(string text, double expected)
    {
        Assert.True(PythonText.TryParseFloat(text, out double value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1__0")]
    [InlineData("1e")]
    [InlineData("e5")]
    [InlineData("--1")]
    [InlineData("1.2.3")]
    [InlineData(" ")]
    [InlineData("0x10")]
    [InlineData("7,5")] // never a decimal comma, whatever the machine's culture
    public void FloatRefusesWhatPythonRefuses(string text) => Assert.False(PythonText.TryParseFloat(text, out _));

    [Fact]
    public void NanParses()
    {
        Assert.True(PythonText.TryParseFloat("NaN", out double value));
        Assert.True(double.IsNaN(value));
    }
}
