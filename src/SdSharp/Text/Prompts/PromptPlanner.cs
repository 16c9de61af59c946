namespace SdSharp.Text.Prompts;

/// <summary>
/// The text half of A1111's conditioning, in A1111's order: comments are stripped from both prompts; extra-network
/// tags are taken out of the prompt; the prompt is split on AND (equal parts share one schedule); each part and the
/// negative prompt are scheduled over the steps; each scheduled text is parsed for emphasis once.
/// </summary>
public static class PromptPlanner
{
    /// <param name="steps">
    /// The steps the schedules cover: A1111 uses the sampler's expected number of denoiser calls for the user's step
    /// count (for the hires pass, the first pass's; the hires count goes in <see cref="ScheduleOptions.HiresSteps"/>).
    /// </param>
    /// <exception cref="InvalidInputException">An emphasis weight is not a number, e.g. <c>(a:1.2.3)</c>.</exception>
    public static PromptPlan Plan(string prompt, string negativePrompt, int steps, PromptPlanOptions? options = null)
    {
        options ??= PromptPlanOptions.Default;
        string positive = options.StripComments ? PromptComments.Strip(prompt) : prompt;
        string negative = options.StripComments ? PromptComments.Strip(negativePrompt) : negativePrompt;
        ExtraNetworkExtraction extracted = ExtraNetworks.Extract(positive);

        var table = new ScheduleTable(steps, options);
        List<ComposablePrompt> parts =
            [.. AndComposition.Split(extracted.Prompt).Select(part => new ComposablePrompt(table.Get(part.Text), part.Weight))];
        PromptSchedule negativeSchedule = table.Get(negative);
        return new PromptPlan(extracted.Prompt, negative, extracted.Tags, parts, negativeSchedule, table.Texts);
    }

    /// <summary>Schedules each distinct prompt once and interns each distinct scheduled text once.</summary>
    private sealed class ScheduleTable(int steps, PromptPlanOptions options)
    {
        private readonly Dictionary<string, PromptSchedule> _schedules = new(StringComparer.Ordinal);
        private readonly Dictionary<string, EncoderText> _byText = new(StringComparer.Ordinal);
        private readonly List<EncoderText> _texts = [];

        public IReadOnlyList<EncoderText> Texts => _texts;

        public PromptSchedule Get(string prompt)
        {
            if (_schedules.TryGetValue(prompt, out PromptSchedule? known)) return known;
            List<ScheduleEntry> entries =
                [.. PromptScheduler.Schedule(prompt, steps, options.Scheduling).Select(s => new ScheduleEntry(s.EndStep, Intern(s.Text)))];
            return _schedules[prompt] = new PromptSchedule(prompt, entries);
        }

        private EncoderText Intern(string text)
        {
            if (_byText.TryGetValue(text, out EncoderText? known)) return known;
            IReadOnlyList<PromptFragment> fragments = options.ParseEmphasis ? EmphasisParser.Parse(text) : [new PromptFragment(text, 1.0)];
            var encoderText = new EncoderText(_texts.Count, text, fragments);
            _texts.Add(encoderText);
            return _byText[text] = encoderText;
        }
    }
}
