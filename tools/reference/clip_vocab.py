"""An HF CLIP tokenizer folder (vocab.json, merges.txt, tokenizer_config.json) built from OpenAI's merge list
(bpe_simple_vocab_16e6.txt.gz), with the vocabulary in the order of OpenAI's SimpleTokenizer: what the GPU-machine
scripts give diffusers' pipelines and SdSharp alike."""
import gzip
import json
import os


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character map, which CLIP's vocabulary is written in."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars)))


def write_tokenizer_folder(folder, merges_gz, pad):
    """Writes the folder; pad is the padding token ("<|endoftext|>" for CLIP-L, "!" for SDXL's bigG)."""
    os.makedirs(folder, exist_ok=True)
    merges = gzip.open(merges_gz).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    config = dict(tokenizer_class="CLIPTokenizer", model_max_length=77, do_lower_case=True, errors="replace", add_prefix_space=False,
                  bos_token="<|startoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>", pad_token=pad)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(config, f)
    return folder
