"""Token ids of HF transformers' CLIPTokenizer on a generated prompt corpus.

Usage: python3 make_tokenizer_fixture.py MERGE_LIST_GZ OUT_JSON

The HF tokenizer files (vocab.json, merges.txt) are built from OpenAI's merge list exactly as
openai/clip-vit-large-patch14's files were, in a temporary folder (never committed).
"""
import json, random, sys, tempfile, os

import transformers
from transformers import CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_vocab import write_tokenizer_folder  # noqa: E402


FIXED = [
    "", " ", "a photo of a cat", "A Photo Of A CAT", "masterpiece, best quality, 1girl, solo, long_hair, looking_at_viewer",
    "café crème brûlée, naïve façade, jalapeño piñata", "Straße, Größe, Übermut", "İstanbul ISTANBUL ıi", "ΣΊΣΥΦΟΣ σίσυφος",
    "富士山の風景、桜の花", "서울의 밤 풍경", "مدينة عربية قديمة", "हिन्दी भाषा", "Москва зимой", "ไทย ภาษา",
    "a cat 🐱 on fire 🔥 thumbs 👍🏽", "family 👨‍👩‍👧 flag 🇯🇵 🏳️‍🌈", "ＡＢＣ　１２３ full width", "ﬁne ﬂower ligatures",
    "“smart quotes” and ‘single’ — em dash … ellipsis", "non\u00a0breaking\u00a0space", "tabs\tand\nnewlines\r\nhere",
    "&amp; &lt;tag&gt; &quot;quoted&quot; &#39;apos&#39; &nbsp; &#x263A;", "1234567890 3.14159 1girl 4k 8k uhd 2d 3d 16:9",
    "!!!???...,,,;;;:::---___***", "(((masterpiece))), [[[bad hands]]], {{{detailed}}}", "(word:1.2) (other:0.5) [weak]",
    "<lora:add_detail:0.8> <hypernet:foo:1>", "[cat:dog:0.5] [from::10] [to:5] [a|b|c]", "red BREAK blue BREAK green",
    "don't it's we're I've you'll he'd I'm DON'T IT'S", "https://example.com/path?x=1&y=2 #hashtag @user", "e-mail: me@example.org",
    "snake_case_words and CamelCaseWords and kebab-case-words", "x" * 300, "a" * 50 + " " + "b" * 50,
    "ｍｉｘｅｄ ＦＵＬＬ ｗｉｄｔｈ", "Ⅻ ⅷ ½ ² ³ ℃ ™ ©", "zero\u200bwidth\u200cjoiners\u200d", "combining e\u0301 vs \u00e9",
    "emoji only 😀😃😄😁😆😅😂🤣", "unicode math 𝐀𝐁𝐂 𝔸𝔹ℂ", "control\x01chars\x7fhere", "'quoted' \"double\" `back`",
    "a,b,c,d,e,f,g", "trailing comma,", ",leading comma", "multiple   spaces    here", "UPPER lower MiXeD",
    "numbers1234letters5678", "3d render, octane, unreal engine 5, 8k, hdr", "v1.5 sd-xl sd2.1 768x768",
]

WORDS = ("masterpiece best quality highly detailed portrait of a woman man cat dog castle forest mountain lake sunset "
         "sunrise cyberpunk steampunk fantasy sci-fi anime photorealistic cinematic lighting volumetric fog bokeh "
         "depth of field trending on artstation by greg rutkowski alphonse mucha 8k uhd dslr film grain red green "
         "blue yellow purple orange white black golden silver dress armor sword dragon wings flowers rain snow night "
         "city street neon reflections intricate elegant sharp focus illustration concept art smooth").split()
EXTRAS = ["é", "ü", "ñ", "ç", "ø", "å", "ß", "æ", "œ", "🙂", "🌸", "🐉", "★", "♥", "→", "·", "•", "°", "±", "×", "÷",
          "¿", "¡", "«", "»", "„", "‚", "…", "—", "–", "™", "€", "£", "¥", "日本", "中文", "한국", "Ω", "π", "∞",
          "&amp;", "&gt;", "&#169;", "\u00a0", "\t", "ﬁ", "Ａ", "１", "İ", "ς", "Σ"]
PUNCT = list("!?.,;:-_*()[]{}<>|/\\'\"`~@#$%^&+=")


def random_prompt(rng):
    parts = []
    for _ in range(rng.randint(1, 40)):
        r = rng.random()
        if r < 0.6:
            w = rng.choice(WORDS)
            if rng.random() < 0.2: w = w.upper()
            elif rng.random() < 0.2: w = w.capitalize()
            parts.append(w)
        elif r < 0.75:
            parts.append(rng.choice(EXTRAS))
        elif r < 0.85:
            parts.append("".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 5))))
        elif r < 0.92:
            parts.append(str(rng.randint(0, 100000)) if rng.random() < 0.5 else f"{rng.random() * 10:.2f}")
        else:
            w = rng.choice(WORDS)
            parts.append(rng.choice([f"({w}:{rng.uniform(0.1, 2):.1f})", f"(({w}))", f"[{w}]", f"[{w}:{rng.choice(WORDS)}:{rng.randint(1, 20)}]", f"<lora:{w}:0.7>"]))
    sep = rng.choice([" ", ", ", ",", "  ", " , "])
    return sep.join(parts)


def long_prompt(rng):
    return ", ".join(rng.choice(WORDS) + " " + rng.choice(WORDS) for _ in range(rng.randint(60, 150)))


KNOWN = ("a photo of a cat", [49406, 320, 1125, 539, 320, 2368, 49407])


def load_tokenizer(folder):
    """transformers 5 backs CLIPTokenizer with the Rust tokenizers library and changed the constructor;
    try the documented routes and keep the first that tokenizes a known sentence correctly."""
    vocab, merges = os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
    attempts = [lambda: CLIPTokenizer.from_pretrained(folder),
                lambda: CLIPTokenizer(vocab=vocab, merges=merges),
                lambda: CLIPTokenizer(vocab_file=vocab, merges_file=merges)]
    for i, make in enumerate(attempts):
        try:
            tok = make()
        except Exception as e:  # noqa: BLE001 - report and try the next route
            print(f"route {i}: {type(e).__name__}: {e}")
            continue
        ids = tok(KNOWN[0])["input_ids"]
        print(f"route {i}: {type(tok).__name__} -> {ids}")
        if ids == KNOWN[1]:
            return tok
    raise SystemExit("no route gave the known token ids; not writing a fixture")


def main():
    gz, out = sys.argv[1], sys.argv[2]
    rng = random.Random(1234)
    texts = FIXED + [random_prompt(rng) for _ in range(300)] + [long_prompt(rng) for _ in range(30)]
    with tempfile.TemporaryDirectory() as folder:
        write_tokenizer_folder(folder, gz, "<|endoftext|>")
        tok = load_tokenizer(folder)
        cases = [{"text": t, "ids": tok(t, truncation=False, padding=False)["input_ids"]} for t in texts]
    longest = max(len(c["ids"]) for c in cases)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"transformers_version": transformers.__version__,
                   "tokenizer_class": [c.__module__ + "." + c.__name__ for c in type(tok).__mro__],
                   "cases": cases}, f, ensure_ascii=False, indent=0)
    print(f"tokenizer: {len(cases)} cases, longest {longest} ids, class {type(tok).__name__}")


if __name__ == "__main__":
    main()
