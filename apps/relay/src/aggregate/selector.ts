import type { Labels } from '@prom-relay/codec';
import { AggregateError } from './errors.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** A parsed PromQL series selector: `name`, `name{l="v"}` or `{__name__=~"re", l!="v"}`. */
export class SeriesSelector {
  readonly matchers: readonly LabelMatcher[];
  private readonly tests: Array<(labels: Labels, name: string) => boolean>;

  constructor(readonly text: string) {
    this.matchers = parseSelector(text);
    this.tests = this.matchers.map(compileMatcher);
  }

  /** `name` stands in for `__name__`, so a rule can match a histogram by its family name. */
  matches(labels: Labels, name: string): boolean {
    for (const test of this.tests) if (!test(labels, name)) return false;
    return true;
  }
}

function compileMatcher(m: LabelMatcher): (labels: Labels, name: string) => boolean {
  const get = m.name === '__name__' ? (_l: Labels, name: string) => name : (l: Labels) => l[m.name] ?? '';
  switch (m.op) {
    case '=':
      return (l, n) => get(l, n) === m.value;
    case '!=':
      return (l, n) => get(l, n) !== m.value;
    case '=~': {
      const re = compileRegex(m);
      return (l, n) => re.test(get(l, n));
    }
    case '!~': {
      const re = compileRegex(m);
      return (l, n) => !re.test(get(l, n));
    }
  }
}

function compileRegex(m: LabelMatcher): RegExp {
  try {
    // PromQL regexes are fully anchored.
    return new RegExp(`^(?:${m.value})$`, 'u');
  } catch (cause) {
    throw new AggregateError('PROM_RELAY_AGGREGATE_SELECTOR', `invalid regex ${JSON.stringify(m.value)} for label ${m.name}`, { cause });
  }
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;

export function parseSelector(text: string): LabelMatcher[] {
  let i = 0;
  const fail = (what: string): never => {
    throw new AggregateError('PROM_RELAY_AGGREGATE_SELECTOR', `selector ${JSON.stringify(text)}: ${what} at column ${i + 1}`);
  };
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const matchers: LabelMatcher[] = [];
  skipSpace();
  if (i < text.length && NAME_START.test(text[i]!)) {
    const start = i;
    while (i < text.length && NAME_CHAR.test(text[i]!)) i++;
    matchers.push({ name: '__name__', op: '=', value: text.slice(start, i) });
    skipSpace();
  }
  if (i < text.length && text[i] === '{') {
    i++;
    for (;;) {
      skipSpace();
      if (text[i] === '}') {
        i++;
        break;
      }
      if (i >= text.length || !LABEL_START.test(text[i]!)) fail('expected a label name');
      const start = i;
      while (i < text.length && LABEL_CHAR.test(text[i]!)) i++;
      const name = text.slice(start, i);
      skipSpace();
      let op: MatchOp;
      if (text.startsWith('=~', i)) op = '=~';
      else if (text.startsWith('!~', i)) op = '!~';
      else if (text.startsWith('!=', i)) op = '!=';
      else if (text[i] === '=') op = '=';
      else return fail('expected one of = != =~ !~');
      i += op.length;
      skipSpace();
      const quote = text[i];
      if (quote !== '"' && quote !== "'" && quote !== '`') fail('expected a quoted value');
      i++;
      let value = '';
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        const ch = text[i]!;
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === '\\' && quote !== '`') {
          const next = text[i + 1];
          if (next === undefined) fail('unterminated escape');
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      matchers.push({ name, op, value });
      skipSpace();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      fail('expected , or }');
    }
    skipSpace();
  }
  if (i < text.length) fail('unexpected character');
  if (matchers.length === 0) fail('empty selector');
  return matchers;
}
