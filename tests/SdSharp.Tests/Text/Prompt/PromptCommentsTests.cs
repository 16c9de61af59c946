using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class PromptCommentsTests
{
    [Theory]
    [InlineData("no comment", "no comment")]
    [InlineData("a #c\nb", "a \nb")]
    [InlineData("#x\nb", "\nb")]
    [InlineData("a\n#x\n#y\nb", "a\n\nb")]
    [InlineData("a # c", "a \n")]
    [InlineData("#only", "\n")]
    [InlineData("a\n#x", "a\n")]
    [InlineData("a#b#c\nd", "a\nd")]
    [InlineData("(a:1.2) # weights\n<lora:x:1> #tag", "(a:1.2) \n<lora:x:1> \n")]
    public void Strips_like_A1111(string prompt, string expected) => Assert.Equal(expected, PromptComments.Strip(prompt));
}
