"""A CLIP-format byte-level BPE tokenizer learned from the caption grammar of dataset.py.

The files have exactly the layout of OpenAI's CLIP tokenizer as Hugging Face ships it (and as SdSharp's
ClipTokenizer.FromFolder reads it):
  vocab.json   token -> id: the 256 byte characters of GPT-2/CLIP's bytes_to_unicode alphabet (printable bytes
               first), the same 256 with "</w>", one token per merge (in merge order), then <|startoftext|> and
               <|endoftext|> as the last two ids.
  merges.txt   "#version: 0.2", then one merge per line ("left right"), most important first.
Text is lower-cased and split as CLIP does (letters runs, single digits, runs of other symbols); a word's last
symbol carries "</w>". Merges are learned by plain BPE over the words of many sampled captions until every
caption word is a single token, so any other text still tokenizes (byte by byte).

Usage: python3 tokenizer.py OUT_DIR      learn from the grammar and write vocab.json, merges.txt and the configs
"""
import json
import os
import sys
from collections import Counter

START, END, END_OF_WORD = "<|startoftext|>", "<|endoftext|>", "</w>"
CONTEXT_LENGTH = 77
CONTRACTIONS = ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d")


def byte_alphabet():
    """GPT-2/CLIP's reversible byte -> character map: printable Latin-1 bytes stand for themselves, the other
    68 bytes take U+0100 onwards in byte order. Returns (byte -> char dict, chars in vocabulary order)."""
    printable = [b for b in range(256) if ord("!") <= b <= ord("~") or ord("¡") <= b <= ord("¬") or ord("®") <= b <= ord("ÿ")]
    others = [b for b in range(256) if b not in printable]
    to_char = {b: chr(b) for b in printable}
    to_char.update({b: chr(0x100 + i) for i, b in enumerate(others)})
    return to_char, [to_char[b] for b in printable + others]


BYTE_TO_CHAR, VOCAB_ORDER = byte_alphabet()


def pieces(text):
    """CLIP's normalisation and pre-tokenisation for ordinary text: whitespace runs to one space, lower case,
    then contractions, runs of letters, single numeric characters, runs of other non-space characters."""
    text = " ".join(text.split()).lower()
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
            continue
        contraction = next((x for x in CONTRACTIONS if text.startswith(x, i)), None)
        if contraction:
            out.append(contraction)
            i += len(contraction)
            continue
        j = i + 1
        if c.isalpha():
            while j < len(text) and text[j].isalpha():
                j += 1
        elif not c.isnumeric():
            while j < len(text) and not (text[j].isspace() or text[j].isalpha() or text[j].isnumeric()):
                j += 1
        out.append(text[i:j])
        i = j
    return out


def word_symbols(word):
    """A pre-tokenised piece as its initial BPE symbols: one character per UTF-8 byte, "</w>" on the last."""
    chars = [BYTE_TO_CHAR[b] for b in word.encode("utf-8")]
    chars[-1] += END_OF_WORD
    return chars


def learn_merges(word_counts, max_merges=10_000):
    """Plain BPE: repeatedly join the most frequent adjacent pair (ties: the lexicographically smallest pair),
    until every word is one symbol. Deterministic for a given Counter of words."""
    words = {tuple(word_symbols(w)): n for w, n in sorted(word_counts.items())}
    merges = []
    while len(merges) < max_merges:
        pairs = Counter()
        for symbols, n in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        joined = best[0] + best[1]
        new_words = {}
        for symbols, n in words.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            new_words[tuple(out)] = new_words.get(tuple(out), 0) + n
        words = new_words
    return merges


def build_vocab(merges):
    tokens = list(VOCAB_ORDER) + [c + END_OF_WORD for c in VOCAB_ORDER] + [a + b for a, b in merges] + [START, END]
    vocab = {}
    for t in tokens:
        if t in vocab:
            raise ValueError(f"token {t!r} would appear twice")
        vocab[t] = len(vocab)
    return vocab


class Tokenizer:
    """Encodes text the way CLIP's tokenizer does with these merges (BPE by merge rank)."""

    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.merges = merges
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.bos, self.eos = vocab[START], vocab[END]
        self._cache = {}

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            lines = [l for l in f.read().split("\n") if l and not l.startswith("#version")]
        return cls(vocab, [tuple(l.split(" ")) for l in lines])

    def save(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(self.vocab, f, ensure_ascii=False)
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
            f.write("#version: 0.2\n")
            f.writelines(f"{a} {b}\n" for a, b in self.merges)
        # The two small configs of a CLIP tokenizer folder, as SD 1.x's tokenizer/ has them.
        special = {"bos_token": START, "eos_token": END, "unk_token": END, "pad_token": END}
        with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
            json.dump(special, f, indent=1)
        config = {"tokenizer_class": "CLIPTokenizer", "model_max_length": CONTEXT_LENGTH, "do_lower_case": True,
                  "errors": "replace", "add_prefix_space": False, **special}
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)

    def word_ids(self, word):
        ids = self._cache.get(word)
        if ids is not None:
            return ids
        symbols = word_symbols(word)
        while len(symbols) > 1:
            ranked = [(self.ranks.get(p, len(self.ranks)), i) for i, p in enumerate(zip(symbols, symbols[1:]))]
            rank, _ = min(ranked)
            if rank == len(self.ranks):
                break
            pair = self.merges[rank]
            out, i = [], 0
            while i < len(symbols):  # join every occurrence of the pair, left to right
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        ids = [self.vocab[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text):
        """Ids without BOS/EOS (the text holds no special-token strings in our use)."""
        return [i for piece in pieces(text) for i in self.word_ids(piece)]

    def encode_context(self, text, length=CONTEXT_LENGTH):
        """BOS, at most length - 2 ids, EOS, padded with EOS: the input SD 1.x gives its text encoder."""
        ids = self.encode(text)[: length - 2]
        return [self.bos] + ids + [self.eos] * (length - 1 - len(ids))


def grammar_word_counts(n=20_000, seed=0):
    """Word frequencies over n sampled training captions, plus every grammar word at least once."""
    import numpy as np
    import dataset
    scenes = dataset.sample_scenes(np.random.default_rng(seed), n, np.zeros(0, np.int64))
    counts = Counter(p for c in scenes.captions() for p in pieces(c))
    for w in dataset.COLORS + dataset.SHAPES + dataset.SIZE_WORDS + ["a", "an", "and", "on", "background"]:
        counts[w] += 0 if counts[w] else 1
    for phrase in dataset.POSITION_PHRASES:
        for w in pieces(phrase):
            counts[w] += 0 if counts[w] else 1
    return counts


def learn_tokenizer():
    merges = learn_merges(grammar_word_counts())
    return Tokenizer(build_vocab(merges), merges)


def main(argv):
    if len(argv) != 1:
        print(__doc__)
        return 2
    tok = learn_tokenizer()
    tok.save(argv[0])
    example = "a large red circle on the left on a blue background"
    print(f"{len(tok.merges)} merges, {len(tok.vocab)} tokens; {example!r} -> {tok.encode(example)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main(sys.argv[1:]))
