// JSON.stringify's text, in pieces of about `chunkChars` characters instead of one string: a checkpoint of 100k
// series is ~11 MB of JSON, which as one string (large-object space) plus its Buffer copy (outside the heap) stayed in
// the process's memory after every flush until the next full GC. In pieces, each dies young once compressed.
// Same text as JSON.stringify for what checkpoints hold: plain objects, arrays, strings, numbers, booleans, null
// (a value with toJSON, and anything not a plain object or array, is left to JSON.stringify whole).

/** Array elements stringified at once (one JSON.stringify per slice: as fast as one call over the whole array). */
const SLICE = 4096;

function skipped(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function whole(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return true;
  return v instanceof Number || v instanceof String || v instanceof Boolean;
}

function* pieces(v: unknown): Generator<string> {
  if (whole(v)) {
    // undefined, a function or a symbol has no text (JSON.stringify answers undefined): only at the top, see jsonChunks.
    yield JSON.stringify(v);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length > SLICE) {
      // Long arrays (a checkpoint's columns) in slices; each slice's text without its brackets (a view, not a copy).
      for (let i = 0; i < v.length; i += SLICE) {
        const text = JSON.stringify(v.slice(i, i + SLICE));
        yield (i === 0 ? '[' : ',') + text.slice(1, -1);
      }
      yield ']';
      return;
    }
    let primitives = true;
    for (let i = 0; i < v.length && primitives; i++) primitives = whole(v[i]) || skipped(v[i]);
    if (primitives) {
      yield JSON.stringify(v);
      return;
    }
    yield '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) yield ',';
      if (skipped(v[i])) yield 'null';
      else yield* pieces(v[i]);
    }
    yield ']';
    return;
  }
  yield '{';
  let first = true;
  const o = v as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    const value = o[key];
    if (skipped(value)) continue;
    yield (first ? '' : ',') + JSON.stringify(key) + ':';
    first = false;
    yield* pieces(value);
  }
  yield '}';
}

/** The text of JSON.stringify(value) in consecutive pieces of at least `chunkChars` characters (the last may be shorter). */
export function* jsonChunks(value: object, chunkChars = 64 * 1024): Generator<string> {
  let text = '';
  for (const piece of pieces(value)) {
    text += piece;
    if (text.length >= chunkChars) {
      yield text;
      text = '';
    }
  }
  if (text.length > 0) yield text;
}
