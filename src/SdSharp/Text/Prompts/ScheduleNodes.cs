namespace SdSharp.Text.Prompts;

/// <summary>A node of a parsed prompt-editing tree. Rendering a tree at a step gives the prompt text for that step.</summary>
internal abstract record ScheduleNode;

/// <summary>Text shown at every step: plain text (escapes kept), emphasis brackets, and unmatched bracket characters.</summary>
internal sealed record LiteralNode(string Text) : ScheduleNode;

internal sealed record SequenceNode(IReadOnlyList<ScheduleNode> Parts) : ScheduleNode
{
    public static readonly SequenceNode Empty = new([]);
}

/// <summary><c>[before:after:when]</c>, or <c>[after:when]</c> with no before. <paramref name="When"/> is the number as written.</summary>
internal sealed record EditNode(SequenceNode? Before, SequenceNode After, string When) : ScheduleNode;

/// <summary><c>[a|b|c]</c>: option (step − 1) mod n at each step. An option left empty (<c>[a|]</c>) renders as "".</summary>
internal sealed record AlternationNode(IReadOnlyList<SequenceNode> Options) : ScheduleNode;
