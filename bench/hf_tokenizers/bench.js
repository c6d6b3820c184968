// Hugging Face tokenizers (Rust core through its Node binding): encodes the texts of a
// bertrain dump (JSON lines {"text", "ids"}) with encodeBatch, times it, and counts texts whose
// ids differ from bertrain's. Threads: RAYON_NUM_THREADS. Prints one JSON line.
//   node bench.js TOKENIZER_JSON DUMP_JSONL REPS
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [tokPath, dumpPath, repsArg] = process.argv.slice(2);
  const reps = Number(repsArg || 5);
  const rows = fs.readFileSync(dumpPath, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const texts = rows.map((r) => r.text);
  const tok = Tokenizer.fromFile(tokPath);
  const times = [];
  let encodings;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    encodings = await tok.encodeBatch(texts);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  let mismatches = 0;
  const examples = [];
  encodings.forEach((e, i) => {
    const ids = e.getIds();
    const want = rows[i].ids;
    if (ids.length !== want.length || ids.some((v, k) => v !== want[k])) {
      mismatches++;
      if (examples.length < 3) examples.push(i);
    }
  });
  const bytes = texts.reduce((s, t) => s + Buffer.byteLength(t, 'utf8'), 0);
  console.log(JSON.stringify({
    impl: 'hf-tokenizers', threads: Number(process.env.RAYON_NUM_THREADS || 0), median_s: median,
    texts_per_s: texts.length / median, mb_per_s: bytes / median / 1e6, mismatches, mismatch_rows: examples,
  }));
}
main();
