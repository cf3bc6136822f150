// A Pushgateway refuses a push whose samples carry timestamps (400 "pushed metrics must not have timestamps"): a pushed
// value is the group's current state. The relay's decoder reads a text timestamp and drops it, so without this check a
// push with timestamps was answered 200 and its values applied at the flush time, not at the time the client wrote.
// The ingest refuses such a push as the Pushgateway does: text 0.0.4 here, the protobuf format in metric-family-proto.ts.

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const CLOSE = 125;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function skipBlanks(t: string, i: number, end: number): number {
  while (i < end && isBlank(t.charCodeAt(i))) i++;
  return i;
}

/**
 * True when the sample line t[i, end) has a token after its value. The line already parsed, so it is
 * `name [{labels}] value [timestamp]` with blanks between (a blank always after the label set): read from its end, the
 * tokens after the label set's `}` (or after the name) are the value alone, or the value and a timestamp. Only the
 * line's last few characters are read, whatever its labels (a `}` inside a label value is never among them).
 */
function lineHasTimestamp(t: string, i: number, end: number): boolean {
  i = skipBlanks(t, i, end);
  if (i >= end || t.charCodeAt(i) === HASH) return false;
  let p = end;
  // the last token
  while (p > i && isBlank(t.charCodeAt(p - 1))) p--;
  while (p > i && !isBlank(t.charCodeAt(p - 1))) p--;
  while (p > i && isBlank(t.charCodeAt(p - 1))) p--;
  // what ends before it: the label set (it was the value), the name (the same), or the value (it was a timestamp)
  if (p === i || t.charCodeAt(p - 1) === CLOSE) return false;
  while (p > i && !isBlank(t.charCodeAt(p - 1))) p--;
  if (p === i) return false;
  return true;
}

/** The first sample that carries a timestamp in a text body the parser passed, as `line N: "<the line>"`, else undefined. */
export function firstTimestamp(text: string): string | undefined {
  const n = text.length;
  let line = 1;
  for (let i = 0; i < n; line++) {
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    // A CR before the LF ends the line, as the parser reads it.
    const stop = end > i && text.charCodeAt(end - 1) === CR ? end - 1 : end;
    if (lineHasTimestamp(text, i, stop)) {
      const sample = text.slice(i, Math.min(stop, i + 120));
      return `line ${line}: ${JSON.stringify(stop - i > 120 ? `${sample}...` : sample)}`;
    }
    i = end + 1;
  }
  return undefined;
}

/** The message of the 400 for a push with a timestamp, `where` naming the sample. */
export function timestampRefusal(where: string): string {
  return `pushed metrics must not have timestamps (${where}), as a Pushgateway refuses them: a push is the group's current state, its samples are written at the relay's flush time`;
}
