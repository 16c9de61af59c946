using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class AndCompositionTests
{
    private static void Check(string prompt, params (string Text, double Weight)[] expected) =>
        Assert.Equal(expected.Select(e => new SubPrompt(e.Text, e.Weight)), AndComposition.Split(prompt));

    [Fact] public void No_and() => Check("a cat", ("a cat", 1.0));
    [Fact] public void Two_parts_keep_leading_space() => Check("a AND b", ("a", 1.0), (" b", 1.0));
    [Fact] public void Weights() => Check("a:1.5 AND b : -2 AND c:.5\n", ("a", 1.5), (" b", -2.0), (" c", 0.5));
    [Fact] public void Weight_forms() => Check("a: 1. AND b:+.5 AND c\n:\n3\n", ("a", 1.0), (" b", 0.5), (" c", 3.0));
    [Fact] public void Trailing_whitespace_is_dropped() => Check(" a  ", (" a", 1.0));
    [Fact] public void A_whole_prompt_can_have_a_weight() => Check("score: 9", ("score", 9.0));
    [Fact] public void Only_the_last_colon_counts() => Check("a:1 :2", ("a:1", 2.0));
    [Fact] public void Emphasis_weights_are_not_and_weights() => Check("(b:1.2)", ("(b:1.2)", 1.0));
    [Fact] public void Not_a_number() => Check("a:1.2.3", ("a:1.2.3", 1.0));
    [Fact] public void Unicode_digit_weight() => Check("a:١", ("a", 1.0));
    [Fact] public void And_must_be_a_word() => Check("a ANDb AND", ("a ANDb", 1.0), ("", 1.0));
    [Fact] public void Only_and() => Check("AND", ("", 1.0), ("", 1.0));
    [Fact] public void Lowercase_and_is_text() => Check("cats and dogs", ("cats and dogs", 1.0));
    [Fact] public void Word_boundary_is_pythons() => Check("ANDROID AND_X xAND ²AND", ("ANDROID AND_X xAND ²AND", 1.0));
    [Fact] public void Newlines_around_and() => Check("a\nAND\nb", ("a", 1.0), ("\nb", 1.0));
}
