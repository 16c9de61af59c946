namespace SdSharp.Text.Prompts;

/// <summary>
/// A piece of prompt text and the weight its tokens get. The tokenizer encodes each fragment on its own (without
/// BOS/EOS) and gives all of its tokens this weight.
/// </summary>
public readonly record struct PromptFragment(string Text, double Weight)
{
    /// <summary>A1111's BREAK marker: ends the current 75-token chunk. Recognised, as A1111 does, only with weight exactly −1.</summary>
    public bool IsBreak => Weight == -1 && Text == "BREAK";

    public static PromptFragment Break { get; } = new("BREAK", -1);
}
