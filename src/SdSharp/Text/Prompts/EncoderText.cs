namespace SdSharp.Text.Prompts;

/// <summary>
/// One distinct text the text encoder has to run on, with its emphasis fragments. Within a <see cref="PromptPlan"/>
/// equal texts are the same instance with the same <see cref="Id"/>, so conditioning can be computed once per text
/// and looked up by either.
/// </summary>
public sealed class EncoderText
{
    internal EncoderText(int id, string text, IReadOnlyList<PromptFragment> fragments)
    {
        Id = id;
        Text = text;
        Fragments = fragments;
    }

    /// <summary>Index into <see cref="PromptPlan.Texts"/>.</summary>
    public int Id { get; }

    /// <summary>The scheduled prompt text (emphasis syntax still in it).</summary>
    public string Text { get; }

    /// <summary>What the tokenizer encodes: each fragment separately, BREAK markers closing chunks.</summary>
    public IReadOnlyList<PromptFragment> Fragments { get; }

    public override string ToString() => Text;
}
