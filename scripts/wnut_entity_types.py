"""Makes the shipped multi-label data set data/wnut_types/ from WNUT-17 (../shared/data/ner/):
each sentence becomes one JSON line {"text": its tokens joined by spaces, "labels": the sorted
entity types it mentions} (an empty list when it mentions none). The task: which of the six
entity types (corporation, creative-work, group, location, person, product) does a text name?

  python3 scripts/wnut_entity_types.py ../shared/data/ner data/wnut_types
"""
import json
import os
import sys


def sentences(path):
    sent = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():  # any whitespace-only line ends a sentence
                if sent:
                    yield sent
                sent = []
                continue
            token, tag = line.split("\t")[0], line.split("\t")[-1]
            sent.append((token, tag))
    if sent:
        yield sent


def main(src, out):
    os.makedirs(out, exist_ok=True)
    for split, name in (("train", "wnut17-train.conll"), ("dev", "wnut17-dev.conll")):
        with open(os.path.join(out, split + ".jsonl"), "w", encoding="utf-8") as f:
            for sent in sentences(os.path.join(src, name)):
                types = sorted({tag[2:] for _, tag in sent if tag != "O"})
                text = " ".join(token for token, _ in sent)
                f.write(json.dumps({"text": text, "labels": types}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
