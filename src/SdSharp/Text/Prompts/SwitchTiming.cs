namespace SdSharp.Text.Prompts;

/// <summary>Turns the number of a <c>[from:to:when]</c> into the last step that shows "from".</summary>
internal sealed class SwitchTiming
{
    private readonly bool _old;
    private readonly int _intOffset;
    private readonly double _floatOffset;

    public SwitchTiming(int baseSteps, ScheduleOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(baseSteps, 1);
        _old = options.UseOldScheduling;
        bool hires = options.HiresSteps is not null && !_old;
        if (hires) ArgumentOutOfRangeException.ThrowIfLessThan(options.HiresSteps!.Value, 1, nameof(options.HiresSteps));
        Steps = hires ? options.HiresSteps!.Value : baseSteps;
        _intOffset = hires ? baseSteps : 0;
        _floatOffset = hires ? 1.0 : 0.0;
    }

    /// <summary>The number of steps the schedule covers.</summary>
    public int Steps { get; }

    /// <summary>
    /// Python's <c>min(steps, int(v))</c>: a whole step number at most <see cref="Steps"/>, possibly zero or negative
    /// (then "to" shows from the first step). Where Python's int() would overflow on an infinite value, we clamp.
    /// </summary>
    public double SwitchStep(string number)
    {
        if (!PythonText.TryParseFloat(number, out double v))
            throw new InvalidOperationException($"The schedule parser accepted '{number}' as a number.");
        if (_old) v = v < 1 ? v * Steps : v;
        else if (number.Contains('.')) v = (v - _floatOffset) * Steps;   // a fraction of the steps
        else v -= _intOffset;                                             // an absolute step
        if (double.IsNaN(v)) return double.NegativeInfinity;
        return Math.Min(Steps, Math.Truncate(v));
    }
}
