using System.Text.Json;
using SdSharp.Tests.Text.Tokenizer;

namespace SdSharp.Tests.Cli;

public sealed class TokenizeCommandTests
{
    [Fact]
    public void Text_output_lists_chunks_tokens_and_weights()
    {
        var (exit, output, error) = CliRunner.Run("tokenize", "a (photo:1.2) of a cat BREAK [dog] <lora:x:0.5>");
        Assert.Equal(0, exit);
        Assert.Equal("", error);
        Assert.Contains("extra networks: <lora:x:0.5>", output);
        Assert.Contains("76/150 tokens in 2 chunks", output);   // BREAK closes the first chunk, which counts as full
        Assert.Contains("chunk 1: 5 tokens (+70 EOS padding)", output);
        Assert.Matches(@"1125\s+photo</w>\s+1\.2\n", output);
        Assert.Matches(@"1929\s+dog</w>\s+0\.9091\n", output);
    }

    [Fact]
    public void Json_gives_the_77_ids_the_encoder_sees()
    {
        var (exit, output, _) = CliRunner.Run("tokenize", string.Join(' ', Enumerable.Repeat("cat", 76)), "--json");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        JsonElement text = json.RootElement.GetProperty("texts")[0];
        Assert.Equal(76, text.GetProperty("token_count").GetInt32());
        JsonElement chunks = text.GetProperty("chunks");
        Assert.Equal(2, chunks.GetArrayLength());
        int[] ids = [.. chunks[1].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
        var tok = ClipTokenizerTests.Shared.Value;
        Assert.Equal([tok.BosId, tok.GetId("cat</w>"), .. Enumerable.Repeat(tok.EosId, 75)], ids);
        Assert.Equal(77, chunks[1].GetProperty("weights").GetArrayLength());
        JsonElement token = Assert.Single(chunks[1].GetProperty("tokens").EnumerateArray());
        Assert.Equal("cat</w>", token.GetProperty("text").GetString());
    }

    [Fact]
    public void Prompt_editing_shows_each_scheduled_text()
    {
        var (exit, output, _) = CliRunner.Run("tokenize", "a [cat:dog:0.5]", "--steps", "10");
        Assert.Equal(0, exit);
        Assert.Contains("\"a cat\": 2/75 tokens in 1 chunk", output);
        Assert.Contains("\"a dog\": 2/75 tokens in 1 chunk", output);
    }

    [Fact]
    public void A_tokenizer_folder_or_merge_list_can_be_given()
    {
        string folder = ClipTokenizerFolderTests.WriteHfFolder();
        try
        {
            var fromFolder = CliRunner.Run("tokenize", "--tokenizer", folder, "a cat");
            var fromList = CliRunner.Run("tokenize", "--tokenizer", TestPaths.ClipMergeList, "a cat");
            Assert.Equal(0, fromFolder.Exit);
            Assert.Equal(fromList.Out, fromFolder.Out);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void A_models_own_tokenizer_is_used_with_m()
    {
        // The bundled model has its own small vocabulary: "triangle" is one token there, two in OpenAI's.
        var bundled = CliRunner.Run("tokenize", "-m", Path.Combine(TestPaths.RepoRoot, "models", "tiny-shapes"), "a triangle", "--json");
        var openAi = CliRunner.Run("tokenize", "a triangle", "--json");
        Assert.Equal(0, bundled.Exit);
        Assert.Contains("549", bundled.Out);
        Assert.NotEqual(openAi.Out, bundled.Out);
        // A single file has no tokenizer of its own: OpenAI's merge list is used.
        var single = CliRunner.Run("tokenize", "-m", TestPaths.Fixture("models", "sd1", "single.safetensors"), "a triangle", "--json");
        Assert.Equal(openAi.Out, single.Out);
        CliRunner.AssertUserError(CliRunner.Run("tokenize", "-m", Path.Combine(TestPaths.NewTempDirectory(), "none.safetensors"), "a"), "none.safetensors");
    }

    [Fact]
    public void Bad_arguments_are_one_line_user_errors()
    {
        string missing = Path.Combine(TestPaths.NewTempDirectory(), "nothing-here");
        CliRunner.AssertUserError(CliRunner.Run("tokenize", "--tokenizer", missing, "a cat"), "nothing-here");
        CliRunner.AssertUserError(CliRunner.Run("tokenize", "--steps", "0", "a cat"), "--steps");
        CliRunner.AssertUserError(CliRunner.Run("tokenize"), "prompt");
    }
}
