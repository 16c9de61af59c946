using SdSharp;
using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class EmphasisParserTests
{
    private const double Down = 1 / 1.1;   // 0.9090909090909091, what one [] gives

    private static void Check(string text, params (string Text, double Weight)[] expected) =>
        Assert.Equal(expected.Select(e => new PromptFragment(e.Text, e.Weight)), EmphasisParser.Parse(text));

    // The doctests of A1111's parse_prompt_attention.
    [Fact] public void Doctest_normal_text() => Check("normal text", ("normal text", 1.0));
    [Fact] public void Doctest_important() => Check("an (important) word", ("an ", 1.0), ("important", 1.1), (" word", 1.0));
    [Fact] public void Doctest_unbalanced() => Check("(unbalanced", ("unbalanced", 1.1));
    [Fact] public void Doctest_literal() => Check("\\(literal\\]", ("(literal]", 1.0));
    [Fact] public void Doctest_unnecessary_parens() => Check("(unnecessary)(parens)", ("unnecessaryparens", 1.1));

    [Fact]
    public void Doctest_house_on_a_hill() => Check("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        ("a ", 1.0), ("house", 1.5730000000000004), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55),
        (", sun, ", 1.1), ("sky", 1.4641000000000006), (".", 1.1));

    [Theory]
    [InlineData("[a]", 0.9090909090909091)]
    [InlineData("[[a]]", 0.8264462809917354)]       // (1/1.1) twice, not 1/1.21
    [InlineData("((a))", 1.2100000000000002)]
    [InlineData("(a:1.5)", 1.5)]
    [InlineData("(a: 1.5 )", 1.5)]                  // spaces around the weight
    [InlineData("(a:+.5)", 0.5)]
    [InlineData("(a:-1)", -1.0)]
    [InlineData("((a:0.5):2)", 1.0)]
    [InlineData("(a:١.٥)", 1.5)]                    // Python's \d and float() take any Unicode digit
    public void Single_weights(string text, double weight) => Check(text, ("a", weight));

    [Fact]
    public void Brackets_can_cross() => Check("(a[b)c]", ("a", 1.1), ("b", 1.0), ("c", Down));

    [Fact]
    public void Unclosed_brackets_apply_to_the_end() => Check("a ((b) c", ("a ", 1.0), ("b", 1.2100000000000002), (" c", 1.1));

    [Fact]
    public void Unclosed_square_after_a_weight_without_paren() => Check("[a:1.5)", ("a:1.5)", Down));

    [Theory]
    [InlineData("a:1.5)")]       // nothing to close: the weight is text
    [InlineData("a)b]c")]        // stray closers are text
    [InlineData(":")]
    public void Stray_syntax_is_text(string text) => Check(text, (text, 1.0));

    [Fact]
    public void A_weight_with_an_exponent_is_not_a_weight() => Check("(a:1e2)", ("a:1e2", 1.1));

    [Fact]
    public void Square_brackets_do_not_take_weights() => Check("[a:2]", ("a:2", Down));

    [Fact]
    public void Adjacent_equal_weights_merge() => Check("(a:2)(b:2)", ("ab", 2.0));

    [Fact]
    public void Different_weights_stay_apart() => Check("[a] (b) [c]", ("a", Down), (" ", 1.0), ("b", 1.1), (" ", 1.0), ("c", Down));

    [Theory]
    [InlineData("a\\b", "ab")]                      // a backslash before anything else is dropped
    [InlineData("a\\\\b", "a\\b")]
    [InlineData("\\(\\)\\[\\]", "()[]")]
    [InlineData("a\\:b", "a:b")]
    public void Escapes(string text, string expected) => Check(text, (expected, 1.0));

    [Theory]
    [InlineData("")]
    [InlineData("()")]
    [InlineData("[[")]
    public void Nothing_left_is_one_empty_fragment(string text) => Check(text, ("", 1.0));

    [Fact]
    public void Empty_weighted_parens_leave_an_empty_fragment() => Check("(:1.5)", ("", 1.0));

    [Fact]
    public void Break_becomes_a_marker()
    {
        Check("a BREAK b", ("a", 1.0), ("BREAK", -1), ("b", 1.0));
        Assert.True(EmphasisParser.Parse("a BREAK b")[1].IsBreak);
    }

    [Fact] public void Break_eats_surrounding_whitespace() => Check("x\n BREAK \ny", ("x", 1.0), ("BREAK", -1), ("y", 1.0));
    [Fact] public void Break_alone() => Check("BREAK", ("", 1.0), ("BREAK", -1), ("", 1.0));
    [Fact] public void Break_must_be_a_word() => Check("aBREAK b, BREAKs, BREAK_", ("aBREAK b, BREAKs, BREAK_", 1.0));
    [Fact] public void Break_after_punctuation() => Check("a,BREAK,b", ("a,", 1.0), ("BREAK", -1), (",b", 1.0));
    [Fact] public void Lowercase_break_is_text() => Check("a break b", ("a break b", 1.0));

    [Fact]
    public void Two_breaks() => Check("a BREAK BREAK b", ("a", 1.0), ("BREAK", -1), ("", 1.0), ("BREAK", -1), ("b", 1.0));

    [Fact]
    public void Break_inside_brackets_gets_weighted_and_stops_being_a_break()
    {
        // A1111 multiplies the marker too; with weight −1.1 its tokenizer no longer sees a BREAK.
        Check("(a BREAK b)", ("a", 1.1), ("BREAK", -1.1), ("b", 1.1));
        Assert.DoesNotContain(EmphasisParser.Parse("(a BREAK b)"), f => f.IsBreak);
    }

    [Fact]
    public void Text_that_merges_into_BREAK_with_weight_minus_one_is_a_break()
    {
        // "BRE", "" (dropped backslash) and "AK" merge at weight −1: A1111's tokenizer then takes it for a BREAK.
        Check("(BRE\\AK:-1)", ("BREAK", -1.0));
        Assert.True(EmphasisParser.Parse("(BRE\\AK:-1)")[0].IsBreak);
    }

    [Theory]
    [InlineData("(a:1.2.3)")]
    [InlineData("(a:.)")]
    [InlineData("(a:+.)")]
    public void A_weight_that_is_not_a_number_is_an_error(string text)
    {
        var error = Assert.Throws<InvalidInputException>(() => EmphasisParser.Parse(text));
        Assert.Contains("weight", error.Message);
    }

    [Fact]
    public void Bad_weight_without_open_paren_is_just_text() => Check("a:1.2.3)", ("a:1.2.3)", 1.0));
}
