using SdSharp.Text.Prompts;

namespace SdSharp.Tests.Text.Prompt;

public class PromptPlannerTests
{
    [Fact]
    public void Plain_prompt()
    {
        PromptPlan plan = PromptPlanner.Plan("a cat", "ugly", 20);
        ComposablePrompt part = Assert.Single(plan.Positive);
        Assert.Equal(1.0, part.Weight);
        Assert.Equal([new ScheduleEntry(20, plan.Texts[0])], part.Schedule.Entries);
        Assert.Equal("a cat", plan.Texts[0].Text);
        Assert.Equal([new PromptFragment("a cat", 1.0)], plan.Texts[0].Fragments);
        Assert.Equal("ugly", plan.NegativeAt(0).Text);
        Assert.Empty(plan.ExtraNetworks);
    }

    [Fact]
    public void Extra_networks_come_out_before_and_splitting_and_scheduling()
    {
        PromptPlan plan = PromptPlanner.Plan("a <lora:x:0.5> cat AND [dog:<hypernet:h>:3]", "", 10);
        Assert.Equal("a  cat AND [dog::3]", plan.Prompt);
        Assert.Equal([new ExtraNetworkTag("lora", ["x", "0.5"]), new ExtraNetworkTag("hypernet", ["h"])], plan.ExtraNetworks);
        Assert.Equal(["a  cat", " [dog::3]"], plan.Positive.Select(p => p.Schedule.Source));
        Assert.Equal(" dog", plan.PositiveAt(3)[1].Text.Text);
        Assert.Equal(" ", plan.PositiveAt(4)[1].Text.Text);
    }

    [Fact]
    public void Negative_prompt_is_not_split_on_and_and_keeps_extra_network_tags()
    {
        PromptPlan plan = PromptPlanner.Plan("a", "b AND c:2 <lora:x:1>", 10);
        Assert.Equal("b AND c:2 <lora:x:1>", plan.NegativeAt(0).Text);
        Assert.Empty(plan.ExtraNetworks);
    }

    [Fact]
    public void And_weights_and_shared_schedules()
    {
        // Parts keep their leading space, so " x" and "x" would be different texts.
        PromptPlan plan = PromptPlanner.Plan(" x AND y:2 AND x:-0.5", "", 10);
        Assert.Equal([1.0, 2.0, -0.5], plan.Positive.Select(p => p.Weight));
        Assert.Same(plan.Positive[0].Schedule, plan.Positive[2].Schedule);     // equal texts share one schedule
        Assert.Equal([" x", " y", ""], plan.Texts.Select(t => t.Text));    // "" is the negative prompt
        IReadOnlyList<WeightedText> atStep = plan.PositiveAt(5);
        Assert.Same(atStep[0].Text, atStep[2].Text);
        Assert.Equal(-0.5, atStep[2].Weight);
    }

    [Fact]
    public void Equal_texts_are_one_object_across_schedules_and_the_negative()
    {
        PromptPlan plan = PromptPlanner.Plan("[a|b] AND[b:a:2]", "a", 4);
        Assert.Equal(["a", "b"], plan.Texts.Select(t => t.Text));
        Assert.Equal([0, 1], plan.Texts.Select(t => t.Id));
        Assert.Same(plan.Texts[0], plan.NegativeAt(0));
        Assert.Same(plan.PositiveAt(1)[0].Text, plan.PositiveAt(3)[1].Text);   // "a" from the alternation and from the edit
    }

    [Fact]
    public void At_step_follows_reconstruct_cond_batch()
    {
        PromptSchedule schedule = PromptPlanner.Plan("[a:b:3]", "", 10).Positive[0].Schedule;
        // A1111's denoiser counter starts at 0, so "a" is used for counters 0..3 and "b" from 4.
        Assert.Equal(["a", "a", "a", "a", "b", "b"], Enumerable.Range(0, 6).Select(s => schedule.At(s).Text));
        Assert.Equal("b", schedule.At(10).Text);
        Assert.Equal("a", schedule.At(11).Text);   // past the last entry A1111 falls back to the first
    }

    [Fact]
    public void Emphasis_is_parsed_per_scheduled_text()
    {
        PromptPlan plan = PromptPlanner.Plan("[(cat:1.5):dog:2] BREAK (sky)", "", 4);
        Assert.Equal(
            [new PromptFragment("cat", 1.5), new PromptFragment("", 1.0), PromptFragment.Break, new PromptFragment("", 1.0), new PromptFragment("sky", 1.1)],
            plan.PositiveAt(1)[0].Text.Fragments);
        Assert.Equal([new PromptFragment("dog", 1.0), PromptFragment.Break, new PromptFragment("", 1.0), new PromptFragment("sky", 1.1)],
            plan.PositiveAt(3)[0].Text.Fragments);
    }

    [Fact]
    public void Emphasis_mode_none_keeps_the_text_whole()
    {
        PromptPlan plan = PromptPlanner.Plan("(a) BREAK b", "", 4, new PromptPlanOptions { ParseEmphasis = false });
        Assert.Equal([new PromptFragment("(a) BREAK b", 1.0)], plan.Texts[0].Fragments);
    }

    [Fact]
    public void Comments_are_stripped_first_unless_disabled()
    {
        PromptPlan plan = PromptPlanner.Plan("a cat # <lora:x:1> AND b", "ugly #note", 4);
        Assert.Equal("a cat \n", plan.Prompt);
        Assert.Empty(plan.ExtraNetworks);
        Assert.Equal("ugly \n", plan.NegativePrompt);

        PromptPlan raw = PromptPlanner.Plan("a cat # <lora:x:1>", "", 4, new PromptPlanOptions { StripComments = false });
        Assert.Equal("a cat # ", raw.Prompt);
        Assert.Single(raw.ExtraNetworks);
    }

    [Fact]
    public void Hires_scheduling()
    {
        var options = new PromptPlanOptions { Scheduling = new ScheduleOptions(HiresSteps: 10) };
        PromptPlan plan = PromptPlanner.Plan("[a:b:25]", "[c:d:0.5]", 20, options);
        Assert.Equal([5, 10], plan.Positive[0].Schedule.Entries.Select(e => e.EndStep));
        Assert.Equal("d", plan.NegativeAt(0).Text);
    }

    [Fact]
    public void Empty_negative_is_flagged_for_sdxl()
    {
        Assert.True(PromptPlanner.Plan("a", "", 10).Negative.IsEmpty);
        Assert.True(PromptPlanner.Plan("a", "<lora:x:1>", 10) is { Negative.IsEmpty: false });   // the tag stays as text
        Assert.False(PromptPlanner.Plan("a", "[b:3]", 10).Negative.IsEmpty);
    }

    [Fact]
    public void A_bad_emphasis_weight_fails_the_plan() =>
        Assert.Throws<SdSharp.InvalidInputException>(() => PromptPlanner.Plan("(a:1.2.3)", "", 10));
}
