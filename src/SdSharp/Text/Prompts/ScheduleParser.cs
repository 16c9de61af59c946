namespace SdSharp.Text.Prompts;

/// <summary>
/// Parses A1111's prompt-editing grammar (<c>prompt_parser.schedule_parser</c>, a lark Earley grammar):
/// <code>
/// start:      (prompt | /[][():]/+)*
/// prompt:     (emphasized | scheduled | alternate | plain | WHITESPACE)*
/// emphasized: "(" prompt ")" | "(" prompt ":" prompt ")" | "[" prompt "]"
/// scheduled:  "[" [prompt ":"] prompt ":" [WHITESPACE] NUMBER [WHITESPACE] "]"
/// alternate:  "[" prompt ("|" [prompt])+ "]"
/// plain:      /([^\\\[\]():|]|\\.)+/
/// </code>
/// Inside a bracket every '(' and '[' must open a complete bracket, so a bracket starting at a given position has at
/// most one parse. Only the top level is ambiguous: there a bracket may also be read as loose characters. This parser
/// reads every top-level bracket that can be complete as a bracket. lark's Earley parser resolves that ambiguity
/// through set iteration order, so for some prompts (a valid <c>[a:3]</c> followed by loose closing brackets or colons,
/// e.g. <c>[a:3]]</c>) A1111's result changes with PYTHONHASHSEED; on thousands of generated prompts, checked under
/// many seeds, our result is always one of lark's, and the only one wherever lark's does not vary.
/// Returns null where lark raises (a '|' outside an alternation, a backslash at the end or before a newline).
/// Iterative, so deeply nested brackets cannot overflow the stack.
/// </summary>
internal sealed class ScheduleParser
{
    private static readonly LiteralNode Colon = new(":");

    private readonly string _s;

    // What a '(' or '[' at a position turned out to be: its node and end, or null Node if it cannot be completed.
    // Both are independent of context, so each position is parsed once and the parse stays linear.
    private readonly Dictionary<int, (ScheduleNode? Node, int End)> _brackets = [];

    private ScheduleParser(string prompt) => _s = prompt;

    public static SequenceNode? Parse(string prompt) => new ScheduleParser(prompt).ParseStart();

    private SequenceNode? ParseStart()
    {
        var parts = new List<ScheduleNode>();
        int pos = 0;
        while (pos < _s.Length)
        {
            char c = _s[pos];
            if (c is '(' or '[' && TryBracket(pos) is var (node, end) && node is not null)
            {
                parts.Add(node);
                pos = end;
            }
            else if (c is '(' or '[' or ')' or ']' or ':')
            {
                parts.Add(new LiteralNode(c.ToString()));   // the grammar's loose /[][():]/ characters
                pos++;
            }
            else
            {
                int plainEnd = ScanPlain(pos);
                if (plainEnd == pos) return null;
                parts.Add(new LiteralNode(_s[pos..plainEnd]));
                pos = plainEnd;
            }
        }
        return new SequenceNode(parts);
    }

    private (ScheduleNode? Node, int End) TryBracket(int start)
    {
        if (_brackets.TryGetValue(start, out var known)) return known;

        var open = new Stack<Frame>();
        open.Push(new Frame(_s[start], start));
        int i = start + 1;
        while (true)
        {
            Frame frame = open.Peek();
            if (i >= _s.Length) return Fail(open);
            char c = _s[i];
            if (c is '(' or '[')
            {
                if (!_brackets.TryGetValue(i, out var nested)) { open.Push(new Frame(c, i)); i++; continue; }
                if (nested.Node is null) return Fail(open);
                frame.Current.Add(nested.Node);
                i = nested.End;
            }
            else if (c is ')' or ']' or ':' or '|')
            {
                i = frame.OnDelimiter(c, i, this, out ScheduleNode? closed);
                if (i < 0) return Fail(open);
                if (closed is null) continue;
                open.Pop();
                _brackets[frame.Start] = (closed, i);
                if (open.Count == 0) return (closed, i);
                open.Peek().Current.Add(closed);
            }
            else
            {
                int plainEnd = ScanPlain(i);
                if (plainEnd == i) return Fail(open);
                frame.Current.Add(new LiteralNode(_s[i..plainEnd]));
                i = plainEnd;
            }
        }
    }

    // A bracket that cannot be completed takes every enclosing one with it: a prompt cannot hold a loose bracket.
    private (ScheduleNode? Node, int End) Fail(Stack<Frame> open)
    {
        foreach (Frame frame in open) _brackets[frame.Start] = (null, 0);
        return (null, 0);
    }

    // plain: characters other than \ [ ] ( ) : |, or a backslash and any character but a newline (lark's '.').
    private int ScanPlain(int i)
    {
        while (i < _s.Length)
        {
            char c = _s[i];
            if (c == '\\')
            {
                if (i + 1 < _s.Length && _s[i + 1] != '\n') { i += 2; continue; }
                break;
            }
            if (c is '[' or ']' or '(' or ')' or ':' or '|') break;
            i++;
        }
        return i;
    }

    /// <summary><c>[WHITESPACE] NUMBER [WHITESPACE] "]"</c> at <paramref name="i"/>: the number text and the end after ']'.</summary>
    private bool TryNumberTail(int i, out string number, out int end)
    {
        number = "";
        end = 0;
        int start = SkipSpaces(i);
        int numberEnd = ScanNumber(start);
        if (numberEnd == start) return false;
        int close = SkipSpaces(numberEnd);
        if (close >= _s.Length || _s[close] != ']') return false;
        number = _s[start..numberEnd];
        end = close + 1;
        return true;
    }

    private int SkipSpaces(int i)
    {
        while (i < _s.Length && PythonText.IsSpace(_s[i])) i++;
        return i;
    }

    /// <summary>
    /// lark's SIGNED_NUMBER as its regex matches at <paramref name="i"/> (ASCII digits only):
    /// sign? (digits ('.' digits?)? | '.' digits) (e sign? digits)?. Returns <paramref name="i"/> when there is none.
    /// </summary>
    private int ScanNumber(int i)
    {
        int p = i;
        if (p < _s.Length && _s[p] is '+' or '-') p++;
        int intDigits = CountDigits(p);
        p += intDigits;
        bool hasMantissa = intDigits > 0;
        if (p < _s.Length && _s[p] == '.')
        {
            int fraction = CountDigits(p + 1);
            if (intDigits > 0 || fraction > 0) { p += 1 + fraction; hasMantissa = true; }
        }
        if (!hasMantissa) return i;
        if (p < _s.Length && _s[p] is 'e' or 'E')
        {
            int q = p + 1;
            if (q < _s.Length && _s[q] is '+' or '-') q++;
            int exponent = CountDigits(q);
            if (exponent > 0) p = q + exponent;
        }
        return p;
    }

    private int CountDigits(int i)
    {
        int p = i;
        while (p < _s.Length && char.IsAsciiDigit(_s[p])) p++;
        return p - i;
    }

    private static SequenceNode Wrap(string open, List<ScheduleNode> inner, string close) =>
        new([new LiteralNode(open), .. inner, new LiteralNode(close)]);

    /// <summary>A bracket being parsed: what it has seen so far.</summary>
    private sealed class Frame(char open, int start)
    {
        public char Open { get; } = open;
        public int Start { get; } = start;

        /// <summary>The parts since the last separator.</summary>
        public List<ScheduleNode> Current { get; private set; } = [];

        /// <summary>'[' only: the sections finished by a ':' or '|'.</summary>
        public List<SequenceNode> Sections { get; } = [];

        /// <summary>'\0' until the first ':' (either bracket) or '|' ('[' only).</summary>
        public char Separator { get; private set; }

        /// <summary>
        /// Handles ')', ']', ':' or '|' at <paramref name="i"/>. Returns where to go on, or -1 when this bracket
        /// cannot be completed; <paramref name="closed"/> is the finished node when the delimiter completes it.
        /// </summary>
        public int OnDelimiter(char c, int i, ScheduleParser parser, out ScheduleNode? closed)
        {
            closed = null;
            return Open == '(' ? OnRoundDelimiter(c, i, out closed) : OnSquareDelimiter(c, i, parser, out closed);
        }

        // (a) and (a:b): emphasis, kept as text; the ':' is just a character.
        private int OnRoundDelimiter(char c, int i, out ScheduleNode? closed)
        {
            closed = null;
            if (c == ')') { closed = Wrap("(", Current, ")"); return i + 1; }
            if (c != ':' || Separator != '\0') return -1;
            Separator = ':';
            Current.Add(Colon);
            return i + 1;
        }

        private int OnSquareDelimiter(char c, int i, ScheduleParser parser, out ScheduleNode? closed)
        {
            closed = null;
            switch (c)
            {
                case ']' when Separator == '\0':
                    closed = Wrap("[", Current, "]");
                    return i + 1;
                case ']' when Separator == '|':
                    EndSection();
                    closed = new AlternationNode(Sections);
                    return i + 1;
                case '|' when Separator != ':':
                    Separator = '|';
                    EndSection();
                    return i + 1;
                case ':' when Separator != '|':
                    // A ':' ends the bracket if "number ]" follows; otherwise it separates before from after,
                    // which only the first ':' may do.
                    if (parser.TryNumberTail(i + 1, out string number, out int end))
                    {
                        SequenceNode? before = Separator == ':' ? Sections[0] : null;
                        closed = new EditNode(before, new SequenceNode(Current), number);
                        return end;
                    }
                    if (Separator == ':') return -1;
                    Separator = ':';
                    EndSection();
                    return i + 1;
                default:
                    return -1;
            }
        }

        private void EndSection()
        {
            Sections.Add(new SequenceNode(Current));
            Current = [];
        }
    }
}
