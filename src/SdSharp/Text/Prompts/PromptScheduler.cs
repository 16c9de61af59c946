using System.Text;

namespace SdSharp.Text.Prompts;

/// <summary>
/// Prompt editing and alternation (<c>[from:to:when]</c>, <c>[to:when]</c>, <c>[from::when]</c>, <c>[a|b]</c>), as A1111's
/// <c>get_learned_conditioning_prompt_schedules</c>: a prompt becomes the texts it shows over the steps, each with the
/// last step it is used for. Emphasis brackets pass through untouched. A prompt that does not parse is used verbatim.
/// </summary>
public static class PromptScheduler
{
    public static IReadOnlyList<ScheduledText> Schedule(string prompt, int steps, ScheduleOptions? options = null)
    {
        var timing = new SwitchTiming(steps, options ?? ScheduleOptions.Default);
        SequenceNode? tree = ScheduleParser.Parse(prompt);
        if (tree is null) return [new ScheduledText(timing.Steps, prompt)];

        var switches = new Dictionary<EditNode, double>(ReferenceEqualityComparer.Instance);
        var endSteps = new SortedSet<int> { timing.Steps };
        bool alternates = false;
        foreach (ScheduleNode node in Descendants(tree))
        {
            if (node is EditNode edit)
            {
                double at = timing.SwitchStep(edit.When);
                switches[edit] = at;
                if (at >= 1) endSteps.Add((int)at);
            }
            alternates |= node is AlternationNode;
        }
        if (alternates)
            for (int step = 1; step <= timing.Steps; step++) endSteps.Add(step);   // the text changes every step
        return [.. endSteps.Select(step => new ScheduledText(step, Render(tree, step, switches)))];
    }

    private static IEnumerable<ScheduleNode> Descendants(SequenceNode root)
    {
        var pending = new Stack<ScheduleNode>();
        pending.Push(root);
        while (pending.TryPop(out ScheduleNode? node))
        {
            yield return node;
            switch (node)
            {
                case SequenceNode sequence: foreach (ScheduleNode part in sequence.Parts) pending.Push(part); break;
                case EditNode edit:
                    pending.Push(edit.After);
                    if (edit.Before is not null) pending.Push(edit.Before);
                    break;
                case AlternationNode alternation: foreach (SequenceNode option in alternation.Options) pending.Push(option); break;
            }
        }
    }

    // "before" while step <= when, then "after"; alternation shows option (step - 1) mod n. Iterative: nesting is unbounded.
    private static string Render(SequenceNode root, int step, Dictionary<EditNode, double> switches)
    {
        var text = new StringBuilder();
        var pending = new Stack<ScheduleNode>();
        pending.Push(root);
        while (pending.TryPop(out ScheduleNode? node))
        {
            switch (node)
            {
                case LiteralNode literal: text.Append(literal.Text); break;
                case SequenceNode sequence:
                    for (int i = sequence.Parts.Count - 1; i >= 0; i--) pending.Push(sequence.Parts[i]);
                    break;
                case EditNode edit:
                    SequenceNode? shown = step <= switches[edit] ? edit.Before : edit.After;
                    if (shown is not null) pending.Push(shown);
                    break;
                case AlternationNode alternation:
                    int n = alternation.Options.Count;
                    pending.Push(alternation.Options[((step - 1) % n + n) % n]);
                    break;
            }
        }
        return text.ToString();
    }
}
