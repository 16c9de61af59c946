namespace SdSharp.Text;

/// <summary>
/// Applies ranked BPE merges to one word: repeatedly joins the adjacent pair with the lowest rank,
/// leftmost first on ties, until no adjacent pair has a merge. This is what OpenAI's loop and HF's
/// tokenizers compute; a heap with stale-entry checks keeps long words O(n log n) instead of O(n²).
/// </summary>
internal sealed class BpeWordMerger(Dictionary<long, BpeMerge> merges)
{
    [ThreadStatic] private static PriorityQueue<Candidate, long>? t_queue;

    /// <summary>Merges <paramref name="ids"/> (the word's symbols) in place; returns the new length.</summary>
    public int Merge(Span<int> ids)
    {
        int n = ids.Length;
        if (n < 2) return n;

        // Symbols form a linked list; a merge keeps the left symbol (new id, new version) and unlinks the right.
        Span<int> next = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> prev = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> version = n <= 256 ? stackalloc int[n] : new int[n];
        for (int i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            version[i] = 0;
        }

        var queue = t_queue ??= new PriorityQueue<Candidate, long>();
        queue.Clear();
        for (int i = 0; i + 1 < n; i++) Offer(queue, ids, version, i, i + 1);

        while (queue.TryDequeue(out var c, out _))
        {
            // Stale: one of the two symbols has changed or gone since this pair was offered.
            if (next[c.Left] != c.Right || version[c.Left] != c.LeftVersion || version[c.Right] != c.RightVersion) continue;

            ids[c.Left] = c.NewId;
            version[c.Left]++;
            version[c.Right] = -1;
            int after = next[c.Right];
            next[c.Left] = after;
            if (after >= 0) prev[after] = c.Left;

            if (prev[c.Left] >= 0) Offer(queue, ids, version, prev[c.Left], c.Left);
            if (after >= 0) Offer(queue, ids, version, c.Left, after);
        }

        int length = 0;
        for (int i = 0; i >= 0; i = next[i]) ids[length++] = ids[i];
        return length;
    }

    private void Offer(PriorityQueue<Candidate, long> queue, Span<int> ids, Span<int> version, int left, int right)
    {
        if (!merges.TryGetValue(BpeMerge.Key(ids[left], ids[right]), out var m)) return;
        // Rank first, then position: equal ranks merge left to right.
        long priority = ((long)m.Rank << 32) | (uint)left;
        queue.Enqueue(new Candidate(left, right, version[left], version[right], m.Id), priority);
    }

    private readonly record struct Candidate(int Left, int Right, int LeftVersion, int RightVersion, int NewId);
}
