using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

/// <summary>The doctest examples of A1111's <c>get_learned_conditioning_prompt_schedules</c> and the module's header example.</summary>
public class ScheduleDoctestTests
{
    private static string Show(IEnumerable<ScheduledText> schedule) => string.Join(" | ", schedule.Select(e => $"{e.EndStep}:{e.Text}"));

    // g = lambda p: get_learned_conditioning_prompt_schedules([p], 10)[0]
    [Theory]
    [InlineData("test", "10:test")]
    [InlineData("a [b:3]", "3:a  | 10:a b")]
    [InlineData("a [b: 3]", "3:a  | 10:a b")]
    [InlineData("a [[[b]]:2]", "2:a  | 10:a [[b]]")]
    [InlineData("[(a:2):3]", "3: | 10:(a:2)")]
    [InlineData("a [b : c : 1] d", "1:a b  d | 10:a  c  d")]
    [InlineData("a[b:[c:d:2]:1]e", "1:abe | 2:ace | 10:ade")]
    [InlineData("a [unbalanced", "10:a [unbalanced")]
    [InlineData("a [b:.5] c", "5:a  c | 10:a b c")]
    [InlineData("((a][:b:c [d:3]", "3:((a][:b:c  | 10:((a][:b:c d")]
    [InlineData("[a|(b:1.1)]", "1:a | 2:(b:1.1) | 3:a | 4:(b:1.1) | 5:a | 6:(b:1.1) | 7:a | 8:(b:1.1) | 9:a | 10:(b:1.1)")]
    [InlineData("[fe|]male", "1:female | 2:male | 3:female | 4:male | 5:female | 6:male | 7:female | 8:male | 9:female | 10:male")]
    [InlineData("[fe|||]male", "1:female | 2:male | 3:male | 4:male | 5:female | 6:male | 7:male | 8:male | 9:female | 10:male")]
    public void Base_pass(string prompt, string expected) =>
        Assert.Equal(expected, Show(PromptScheduler.Schedule(prompt, 10)));

    /// <summary>
    /// The doctest says [[5, 'a  c'], [10, 'a {b|d{ c']] ("not handling this right now"); it is stale since
    /// alternation made '|' special. A1111 itself (lark cannot parse the '|') uses the prompt verbatim.
    /// </summary>
    [Fact]
    public void Stale_doctest_with_a_pipe_is_verbatim_as_A1111_actually_does() =>
        Assert.Equal("10:a [{b|d{:.5] c", Show(PromptScheduler.Schedule("a [{b|d{:.5] c", 10)));

    // g = lambda p: get_learned_conditioning_prompt_schedules([p], 10, 10)[0]
    [Theory]
    [InlineData("a [b:.5] c", "10:a b c")]
    [InlineData("a [b:1.5] c", "5:a  c | 10:a b c")]
    public void Hires_pass(string prompt, string expected) =>
        Assert.Equal(expected, Show(PromptScheduler.Schedule(prompt, 10, new ScheduleOptions(HiresSteps: 10))));

    [Fact]
    public void Module_header_example_at_100_steps()
    {
        const string prompt = "fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75]" +
                              "[ in foreground::0.6][ in background:0.25] [shoddy:masterful:0.5]";
        Assert.Equal(
            [
                new(25, "fantasy landscape with a mountain and an oak in foreground shoddy"),
                new(50, "fantasy landscape with a lake and an oak in foreground in background shoddy"),
                new(60, "fantasy landscape with a lake and an oak in foreground in background masterful"),
                new(75, "fantasy landscape with a lake and an oak in background masterful"),
                new(100, "fantasy landscape with a lake and a christmas tree in background masterful"),
            ],
            PromptScheduler.Schedule(prompt, 100));
    }

    [Fact]
    public void Get_learned_conditioning_docstring_example() =>
        Assert.Equal("5:a blue jeweled crown | 20:a green jeweled crown",
            Show(PromptScheduler.Schedule("a [blue:green:5] jeweled crown", 20)));
}
