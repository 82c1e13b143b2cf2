"""An independent CLIP tokenizer in Python, the reference for the Go
tokenizer's randomised test.

It follows OpenAI's published algorithm: byte-level BPE over the
bpe_simple_vocab_16e6 merges (the first 48,894), the `regex` module's
pattern with Unicode classes, html.unescape twice, whitespace collapse and
lowercasing. ftfy is not available here, so the test only feeds prompts that
ftfy leaves unchanged.

Usage: reference_tokenizer.py VOCAB.gz < prompts (one JSON string per line)
prints one JSON array of ids per prompt: SOT ... EOT, no padding.
"""

import gzip
import html
import json
import sys

import regex


def byte_alphabet():
    """The byte -> printable character map of GPT-2 style BPE."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars)}


class Tokenizer:
    def __init__(self, vocab_path):
        with gzip.open(vocab_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]
        self.alphabet = byte_alphabet()
        tokens = list(self.alphabet.values())
        tokens += [t + "</w>" for t in tokens]
        tokens += ["".join(m) for m in merges]
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.rank = {m: i for i, m in enumerate(merges)}
        self.pattern = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE,
        )

    def bpe(self, word):
        # OpenAI seeds its BPE cache with the two special tokens, so written
        # out in a prompt they become the special ids.
        if word in ("<|startoftext|>", "<|endoftext|>"):
            return [word]
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = [(self.rank.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            best, _ = min(pairs)
            if best == float("inf"):
                break
            first, second = parts[_], parts[_ + 1]
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = regex.sub(r"\s+", " ", text).strip().lower()
        ids = [self.ids["<|startoftext|>"]]
        for word in self.pattern.findall(text):
            mapped = "".join(self.alphabet[b] for b in word.encode("utf-8"))
            ids.extend(self.ids[p] for p in self.bpe(mapped))
        ids.append(self.ids["<|endoftext|>"])
        return ids


def main():
    tok = Tokenizer(sys.argv[1])
    for line in sys.stdin:
        print(json.dumps(tok.encode(json.loads(line))))


if __name__ == "__main__":
    main()
