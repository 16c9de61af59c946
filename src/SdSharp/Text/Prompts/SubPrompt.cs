namespace SdSharp.Text.Prompts;

/// <summary>One part of an AND-composed prompt: its text and its weight in the guidance sum.</summary>
public readonly record struct SubPrompt(string Text, double Weight);
