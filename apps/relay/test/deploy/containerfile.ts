// deploy/container/Containerfile read as a builder reads it: stages, their instructions, and what each COPY takes.

export interface Instruction {
  /** upper-case keyword: FROM, COPY, RUN, ... */
  op: string;
  /** the rest of the line, continuation lines joined */
  args: string;
  line: number;
}

export interface Stage {
  name: string | undefined;
  base: string;
  instructions: Instruction[];
}

/** Splits a Containerfile into stages (comments dropped, `\` continuations joined). */
export function parseContainerfile(text: string): { args: Instruction[]; stages: Stage[] } {
  const lines = text.split('\n');
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const start = i + 1;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Containerfile:${start}: not an instruction: ${line}`);
    instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  }
  const args: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Containerfile:${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ base: m[1]!, name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Containerfile:${ins.line}: ${ins.op} before the first FROM`);
      args.push(ins);
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return { args, stages };
}

export interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

/** The COPY instructions of a stage (shell form only, which is what the Containerfile uses). */
export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      let from: string | undefined;
      while (words[0]!.startsWith('--')) {
        const flag = words.shift()!;
        if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
        else throw new Error(`Containerfile:${i.line}: COPY flag ${flag} is not one this test reads`);
      }
      const dest = words.pop()!;
      return { from, sources: words, dest, line: i.line };
    });
}

/** Whether a context path is excluded by .dockerignore patterns (`x`, `**\/x`, `dir/x`: Docker's rules, without `!`); enough for this file. */
export function ignored(path: string, patterns: string[]): boolean {
  const segments = path.replace(/\/$/, '').split('/');
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return patterns.some((raw) => {
    const anywhere = raw.startsWith('**/');
    const re = glob(anywhere ? raw.slice(3) : raw);
    if (anywhere) return segments.some((s) => re.test(s));
    if (!raw.includes('/')) return re.test(segments[0]!);
    return re.test(segments.slice(0, raw.split('/').length).join('/'));
  });
}
