"""Fixture for the trainer's tokenizer test: a GPT-2-style byte-level BPE
(GPT-2's pre-tokenizer regex, byte-level alphabet, merges, <|endoftext|>)
trained here on a small built-in corpus by Hugging Face's Python `tokenizers`
package, and the ids that package gives for texts chosen where a hand-written
pre-tokenizer goes wrong: letters of other scripts and marks (\\p{L}),
digits of other scripts and numerals (\\p{N}), contractions, whitespace runs,
special tokens inside text. The Rust test loads tokenizer.json and must give
the same ids. Regenerate: `make tokenizer-fixture` (PyPI `tokenizers`).
"""
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 2026 and we're here; they'll see, I'd say, you've won, I'm done.",
    "Prioritized experience replay samples transitions with probability proportional to their TD error.",
    "Zürich, Kraków, São Paulo, Île-de-France, naïve café, façade, Ångström, Øresund, İstanbul.",
    "Москва и Санкт-Петербург; Αθήνα και Θεσσαλονίκη; 東京と大阪; 서울과 부산; القاهرة; तेहरान",
    "Numbers: 12+34=046, 99+1=100, ٣٤٥ and ४५६ and ⅣⅫ and ²³ and 3.14159 and 1,000,000.",
    "    indented code\n\n\tand tabs\t\tand   runs   of   spaces   \n\n\n",
    "def f(x):\n    return x ** 2  # square\n",
    "<|endoftext|>A new document begins after the special token.<|endoftext|>",
]

TEXTS = [
    "Hello world",
    "It's they're we've I'm you'll he'd 'tis",
    "Zürich naïve café Ångström İstanbul",
    "Москва Αθήνα 東京 서울",
    "a\u0301 e\u0308 (combining marks)",
    "12+34=046 ٣٤٥ ४५६ Ⅳ ² 3.14",
    "  two spaces,   three,\t\ttabs,\n\n newlines   \n",
    "trailing spaces   ",
    "x<|endoftext|>y <|endoftext|> z",
    "emoji 🙂👍 and symbols ©®™ €£¥",
    "",
]


def main():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 3, trainer=trainer)
    tok.save(os.path.join(HERE, "tokenizer.json"), pretty=True)
    cases = []
    for text in TEXTS:
        ids = tok.encode(text).ids
        cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)})
    import tokenizers

    with open(os.path.join(HERE, "tokenizer_ids.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers": tokenizers.__version__, "vocab_size": tok.get_vocab_size(), "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
