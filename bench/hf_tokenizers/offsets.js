// Hugging Face tokenizers (Rust core, Node binding) on offset requests: for each JSON line
// {"text", "text_pair"?} or {"words", "pair_words"?} (is_split_into_words), with "max_length"
// and "stride" for windows (truncation only_second for pairs, the one sequence otherwise,
// overflowing tokens returned), writes the request with the digest of its windows' ids,
// offsets, word_ids and sequence_ids (and, when short, the windows themselves with their
// tokens): the golden outputs of tests/data/hf_offsets.jsonl (make_offsets_golden.sh).
// This binding takes no pre-tokenized input, so words are encoded as the Rust core encodes a
// pre-tokenized sequence: each word on its own (offsets within the word), its tokens given the
// word's index, joined by [CLS]/[SEP] (Tokenizer::encode_single_sequence, Encoding::merge).
//   node offsets.js TOKENIZER_JSON REQUESTS_JSONL > OUT_JSONL
const fs = require('fs');
// HF_TOKENIZERS_MODULE: another build of the package (make_offsets_golden.sh uses 0.13 for the
// windows: 0.23.1-0.23.2 stop tokenizing at max_length, so their windows stop early, tokenizers
// issue #2091).
const { Tokenizer } = require(process.env.HF_TOKENIZERS_MODULE || 'tokenizers');

// The encodings in one canonical line each ("ids=..|off=b:e,..|w=..|s=..", -1 for null) and
// their FNV-1a 64-bit hash, which tests/test_tokenizer_offsets.cpp computes the same way.
function canonical(encodings) {
  const list = (a) => a.map((x) => (x === null || x === undefined ? -1 : x)).join(',');
  return encodings.map((e) => `ids=${list(e.ids)}|off=${e.offsets.map((o) => `${o[0]}:${o[1]}`).join(',')}` +
    `|w=${list(e.word_ids)}|s=${list(e.sequence_ids)}\n`).join('');
}
function fnv1a64(text) {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

function fields(e) {
  return {
    ids: e.getIds(),
    tokens: e.getTokens(),
    offsets: e.getOffsets(),
    word_ids: e.getWordIds(),
    sequence_ids: e.getSequenceIds(),
  };
}

// A golden line: the request, the digest of its encodings, and the encodings themselves when
// short (readable failures); "full": false drops them for every request.
let full = true;
function record(r, encodings) {
  const line = { ...r, digest: fnv1a64(canonical(encodings)), windows: encodings.length };
  const tokens = encodings.reduce((n, e) => n + e.ids.length, 0);
  if (full && tokens <= 48) line.encodings = encodings;
  return JSON.stringify(line);
}

async function encodeWords(tok, words, pairWords) {
  const seq = async (list, seqId) => {
    const parts = [];
    for (let i = 0; i < list.length; i++) {
      const e = await tok.encode(list[i], null, { addSpecialTokens: false });
      e.getIds().forEach((id, k) => parts.push({
        id, token: e.getTokens()[k], offset: e.getOffsets()[k], word: i, seq: seqId,
      }));
    }
    return parts;
  };
  const special = (token) => ({ id: tok.tokenToId(token), token, offset: [0, 0], word: null, seq: null });
  let all = [special('[CLS]'), ...(await seq(words, 0)), special('[SEP]')];
  if (pairWords) all = all.concat(await seq(pairWords, 1), [special('[SEP]')]);
  return {
    ids: all.map((p) => p.id),
    tokens: all.map((p) => p.token),
    offsets: all.map((p) => p.offset),
    word_ids: all.map((p) => p.word),
    sequence_ids: all.map((p) => p.seq),
  };
}

async function main() {
  const [tokPath, reqPath] = process.argv.slice(2);
  const lines = fs.readFileSync(reqPath, 'utf8').split('\n').filter((l) => l);
  const tok = Tokenizer.fromFile(tokPath);
  const out = [];
  for (const line of lines) {
    const r = JSON.parse(line);
    if (r.words) {
      out.push(record(r, [await encodeWords(tok, r.words, r.pair_words)]));
      continue;
    }
    const pair = r.text_pair;
    if (r.max_length) {
      tok.setTruncation(r.max_length, { stride: r.stride || 0, strategy: pair ? 'OnlySecond' : 'LongestFirst' });
    } else {
      tok.disableTruncation();
    }
    const e = await tok.encode(r.text, pair === undefined ? null : pair);
    out.push(record(r, [fields(e)].concat(e.getOverflowing().map(fields))));
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err) => { console.error(err); process.exit(1); });
