// Golden tokenizer outputs from Hugging Face tokenizers (Rust core, npm package pinned in
// bench/hf_tokenizers/package.json), for the tests in tests/test_tokenizer.cpp and
// tests/test_data.cpp. Run from the repository root after `npm install` in bench/hf_tokenizers:
//   NODE_PATH=bench/hf_tokenizers/node_modules node tests/tools/make_hf_golden.js
// Writes tests/data/hf_cased_tokens.jsonl (bert-base-cased: tokens and ids of texts with case,
// accents, CJK and punctuation) and tests/data/hf_yelp_test_ids.jsonl (bert-base-uncased ids
// of every 10th review of data/yelp/test.csv, truncated to 512 like run_glue).
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

const shared = '../shared/data/tokenizer';

// bert-base-cased's tokenizer.json: the uncased file with the cased vocabulary and
// lowercase off (strip_accents null follows lowercase, as in transformers).
function casedTokenizer() {
  const j = JSON.parse(fs.readFileSync(`${shared}/bert-base-uncased-tokenizer.json`, 'utf8'));
  const lines = fs.readFileSync(`${shared}/bert-base-cased-vocab.txt`, 'utf8').split('\n');
  lines.pop();  // the file ends with a newline
  const vocab = {};
  lines.forEach((t, i) => { vocab[t] = i; });
  j.model.vocab = vocab;
  j.normalizer.lowercase = false;
  j.normalizer.strip_accents = null;
  return Tokenizer.fromString(JSON.stringify(j));
}

// RFC 4180 CSV: quoted fields, "" escapes, newlines inside quotes.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

const casedTexts = [
  'Hello World, café',
  'The naïve Zürich résumé costs 5€ at Crème Brûlée Inc.',
  'São Paulo, Øresund, Ñandú and Ångström',
  // No decomposed accents (e + U+0301): the slow BertTokenizer that the shared fixtures
  // follow NFC-composes them first, the Rust BertNormalizer does not, so the two differ there.
  'r\u00e9sum\u00e9 and \u00e9tude, precomposed',
  'HELLO hello Hello hElLo',
  'Straße and ﬁnance (a ligature)',
  'Москва and Αθήνα are cities',
  '東京は日本の首都です。',
  'I love 🍕 pizza!!! #yum @friend',
  "Don't stop-believing... it's 3:45pm (really?)",
  'Mr. O\'Neill paid $1,234.56 for 12 items',
  'unbelievable UNBELIEVABLE Unbelievable',
  'a\tb\nc\u00a0d\u200be',
];

async function main() {
  const cased = casedTokenizer();
  const out = [];
  for (const text of casedTexts) {
    const e = await cased.encode(text);
    out.push(JSON.stringify({ text, tokens: e.getTokens(), input_ids: e.getIds() }));
  }
  fs.writeFileSync('tests/data/hf_cased_tokens.jsonl', out.join('\n') + '\n');

  const uncased = Tokenizer.fromFile(`${shared}/bert-base-uncased-tokenizer.json`);
  uncased.setTruncation(512);
  const rows = parseCsv(fs.readFileSync('data/yelp/test.csv', 'utf8'));
  const yelp = [];
  for (let i = 0; i < rows.length; i += 10) {
    const e = await uncased.encode(rows[i][1]);
    yelp.push(JSON.stringify({ row: i, input_ids: e.getIds() }));
  }
  fs.writeFileSync('tests/data/hf_yelp_test_ids.jsonl', yelp.join('\n') + '\n');
  console.log(`${out.length} cased texts, ${yelp.length} Yelp reviews of ${rows.length}`);
}
main();
