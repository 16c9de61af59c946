using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class ExtraNetworksTests
{
    [Fact]
    public void Tags_are_cut_out_and_the_text_around_them_kept_exactly()
    {
        var result = ExtraNetworks.Extract("a <lora:x:1> b");
        Assert.Equal("a  b", result.Prompt);
        Assert.Equal([new ExtraNetworkTag("lora", ["x", "1"])], result.Tags);
    }

    [Fact]
    public void Docstring_example_of_ExtraNetwork_activate()
    {
        var result = ExtraNetworks.Extract("1girl, <hypernet:agm:1.1> <extrasupernet:master:12:13:14> <hypernet:ray>");
        Assert.Equal("1girl,   ", result.Prompt);
        Assert.Equal(
            [new ExtraNetworkTag("hypernet", ["agm", "1.1"]), new ExtraNetworkTag("extrasupernet", ["master", "12", "13", "14"]),
             new ExtraNetworkTag("hypernet", ["ray"])],
            result.Tags);
    }

    [Fact]
    public void Commas_stay() => Assert.Equal("a,,b", ExtraNetworks.Extract("a,<lora:x:1>,b").Prompt);

    [Theory]
    [InlineData("<:x>")]          // no kind
    [InlineData("<lora:>")]       // no arguments
    [InlineData("<a-b:c>")]       // '-' is not a word character
    [InlineData("<lora x:1>")]
    [InlineData("<lora:a")]       // never closed
    public void Not_tags(string prompt)
    {
        var result = ExtraNetworks.Extract(prompt);
        Assert.Equal(prompt, result.Prompt);
        Assert.Empty(result.Tags);
    }

    [Theory]
    [InlineData("<lora::>", "lora", new[] { "", "" })]
    [InlineData("<lora:a<b>", "lora", new[] { "a<b" })]          // arguments run to the first '>'
    [InlineData("<lora:a\nb:1>", "lora", new[] { "a\nb", "1" })]
    [InlineData("<é1:z>", "é1", new[] { "z" })]                  // Python's \w is Unicode
    [InlineData("<x_y:1:2:3>", "x_y", new[] { "1", "2", "3" })]
    public void Tag_shapes(string prompt, string kind, string[] items)
    {
        var result = ExtraNetworks.Extract(prompt);
        Assert.Equal("", result.Prompt);
        Assert.Equal([new ExtraNetworkTag(kind, items)], result.Tags);
    }

    [Fact]
    public void A_tag_inside_angle_brackets() =>
        Assert.Equal("<>", ExtraNetworks.Extract("<<lora:a:1>>").Prompt);

    [Fact]
    public void Named_and_positional_arguments()
    {
        var tag = ExtraNetworks.Extract("<lora:name:0.8:te=1:unet=0.5:a=b=c>").Tags.Single();
        Assert.Equal(["name", "0.8", "a=b=c"], tag.Positional);   // two '=' is not a name=value pair
        Assert.Equal("1", tag.Named["te"]);
        Assert.Equal("0.5", tag.Named["unet"]);
        Assert.Equal("<lora:name:0.8:te=1:unet=0.5:a=b=c>", tag.ToString());
    }
}
