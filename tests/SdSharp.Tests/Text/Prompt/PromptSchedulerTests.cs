using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class PromptSchedulerTests
{
    private static string Show(string prompt, int steps, int? hires = null, bool old = false) =>
        string.Join(" | ", PromptScheduler.Schedule(prompt, steps, new ScheduleOptions(hires, old)).Select(e => $"{e.EndStep}:{e.Text}"));

    [Theory]
    [InlineData("[a:b:1]", "1:a | 10:b")]
    [InlineData("[a:b:0]", "10:b")]               // switch step 0: "to" from the first step
    [InlineData("[a:b:-2]", "10:b")]
    [InlineData("[a:b:15]", "10:a")]              // past the end: never switches
    [InlineData("[a:b:+2]", "2:a | 10:b")]
    [InlineData("[a:b:1e1]", "10:a")]             // no '.', so an absolute step: 10
    [InlineData("[a:b:2.]", "10:a")]              // a '.', so a fraction: 2.0 × 10 steps, clamped
    [InlineData("[a:b:1.0]", "10:a")]             // 1.0 is the whole run, not step 1
    [InlineData("[a:b:0.3]", "3:a | 10:b")]
    [InlineData("a [b:c:2] [d:e:2]", "2:a b d | 10:a c e")]
    public void Integer_and_float_switch_steps(string prompt, string expected) => Assert.Equal(expected, Show(prompt, 10));

    [Fact]
    public void Fractions_truncate_like_python_int() =>
        Assert.Equal("28:a | 100:b", Show("[a:b:0.29]", 100));   // 0.29 × 100 = 28.999999999999996

    [Fact]
    public void Integer_literal_with_exponent_is_a_step() =>
        Assert.Equal("10:a | 20:b", Show("[a:b:1e1]", 20));

    [Theory]
    [InlineData("[a:b:12]", "2:a | 5:b")]        // 12 − 10 base steps
    [InlineData("[a:b:1.4]", "1:a | 5:b")]       // (1.4 − 1) × 5 = 1.9999999999999996, truncated to 1
    [InlineData("[a:b:.5]", "5:b")]              // the switch happened during the base pass
    [InlineData("[a:b:25]", "5:a")]
    public void Hires_pass_counts_across_both_passes(string prompt, string expected) =>
        Assert.Equal(expected, Show(prompt, 10, hires: 5));

    [Theory]
    [InlineData("[a:b:1.0]", 10, null, "1:a | 10:b")]   // old mode: only numbers below 1 are fractions
    [InlineData("[a:b:0.5]", 10, null, "5:a | 10:b")]
    [InlineData("[a:b:1.5]", 10, null, "1:a | 10:b")]
    [InlineData("[a:b:0.5]", 10, 5, "5:a | 10:b")]      // old mode ignores the hires offsets and counts base steps
    [InlineData("[a:b:3]", 10, 5, "3:a | 10:b")]
    public void Old_scheduling(string prompt, int steps, int? hires, string expected) =>
        Assert.Equal(expected, Show(prompt, steps, hires, old: true));

    [Theory]
    [InlineData("[a::2]", "2:a | 4:")]
    [InlineData("[:b:2]", "2: | 4:b")]
    [InlineData("[::2]", "2: | 4:")]
    [InlineData("[:2]", "2: | 4:")]
    [InlineData("[a:b:2 ]", "2:a | 4:b")]          // whitespace after the number
    [InlineData("[a:b:\t2\n]", "2:a | 4:b")]
    [InlineData("(a:[b:c:2])", "2:(a:b) | 4:(a:c)")] // editing inside weighted emphasis
    public void Edit_forms(string prompt, string expected) => Assert.Equal(expected, Show(prompt, 4));

    [Theory]
    [InlineData("[a|b|c]", 5, "1:a | 2:b | 3:c | 4:a | 5:b")]
    [InlineData("[a|[b|c]]", 6, "1:a | 2:c | 3:a | 4:c | 5:a | 6:c")]   // both alternate on the same step counter
    [InlineData("[[a|b]:c:2]", 4, "1:a | 2:b | 3:c | 4:c")]
    [InlineData("[|]", 3, "1: | 2: | 3:")]
    [InlineData("[a|]", 3, "1:a | 2: | 3:a")]
    [InlineData("[a|b]", 1, "1:a")]
    public void Alternation_changes_every_step(string prompt, int steps, string expected) =>
        Assert.Equal(expected, Show(prompt, steps));

    [Theory]
    [InlineData("[a:b]")]               // emphasis-or-text, not an edit
    [InlineData("(a:b)")]
    [InlineData("[a]")]
    [InlineData("[a:b:c:2]")]           // three colons
    [InlineData("[a:b: 2x]")]           // not a number
    [InlineData("[cat|dog:3]")]         // alternation options cannot hold ':'
    [InlineData("a | b")]               // '|' outside an alternation: lark rejects the prompt
    [InlineData("a\\")]                 // a trailing backslash
    [InlineData("a\\\nb")]              // a backslash before a newline
    [InlineData("\\[a:b:2\\]")]         // escaped brackets are text
    [InlineData("[a\\|b]")]
    [InlineData("a [unbalanced")]
    [InlineData("")]
    public void Prompts_without_editing_or_that_do_not_parse_are_used_verbatim(string prompt) =>
        Assert.Equal($"4:{prompt}", Show(prompt, 4));

    [Theory]
    [InlineData("[[a:3]", "3:[ | 10:[a")]
    [InlineData("[a:3] ]", "3: ] | 10:a ]")]
    [InlineData(":[a:3](b)", "3::(b) | 10::a(b)")]
    public void Loose_brackets_around_an_edit(string prompt, string expected) => Assert.Equal(expected, Show(prompt, 10));

    /// <summary>
    /// For these A1111's result changes with PYTHONHASHSEED (lark resolves the ambiguity through set order): some runs
    /// edit, others use the text verbatim. We always edit, which is the reading lark gives whenever it is not random.
    /// </summary>
    [Theory]
    [InlineData("[a:3]]", "3:] | 10:a]")]
    [InlineData("[a:3]:", "3:: | 10:a:")]
    [InlineData("(a [b:3]))", "3:(a )) | 10:(a b))")]
    [InlineData("x[a:3]]y", "3:x]y | 10:xa]y")]
    [InlineData("(a:b:[c:3])", "3:(a:b:) | 10:(a:b:c)")]
    public void Where_A1111_is_random_the_brackets_are_read_as_an_edit(string prompt, string expected) =>
        Assert.Equal(expected, Show(prompt, 10));

    [Fact]
    public void One_step()
    {
        Assert.Equal("1:a", Show("[a:b:1.9]", 1));
        Assert.Equal("1:a", Show("[a:b:1]", 1));
    }

    [Fact]
    public void Huge_numbers_clamp_instead_of_failing()
    {
        // Python's int(inf) raises here; the step simply never comes.
        Assert.Equal("10:a", Show("[a:b:1e999]", 10));
        Assert.Equal("10:b", Show("[a:b:-1e999]", 10));
        Assert.Equal("10:a", Show("[a:b:.1e999]", 10));
    }

    [Fact]
    public void Steps_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PromptScheduler.Schedule("a", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PromptScheduler.Schedule("a", 10, new ScheduleOptions(HiresSteps: 0)));
    }

    [Fact]
    public void Deep_nesting_does_not_overflow_the_stack()
    {
        const int depth = 100_000;
        string nested = new string('[', depth) + "a:b:2" + new string(']', depth);
        var schedule = PromptScheduler.Schedule(nested, 4);
        Assert.Equal([2, 4], schedule.Select(e => e.EndStep));
        Assert.Equal(new string('[', depth - 1) + "a" + new string(']', depth - 1), schedule[0].Text);

        string unclosed = new string('(', depth) + "[a:b:2]";
        Assert.Equal(new string('(', depth) + "a", PromptScheduler.Schedule(unclosed, 4)[0].Text);
    }

    [Fact]
    public void Many_unclosed_brackets_parse_in_linear_time()
    {
        string prompt = string.Concat(Enumerable.Repeat("([x ", 20_000)) + "[a:b:2]";
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var schedule = PromptScheduler.Schedule(prompt, 4);
        Assert.Equal(2, schedule.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }
}
