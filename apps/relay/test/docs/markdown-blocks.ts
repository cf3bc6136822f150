// The fenced code blocks of the project's docs, for the docs test: where each is, its language, whether the
// markdown marks it as not run, and (for shell blocks) the commands it holds.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** markdown file, relative to the repository root */
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  /** first word of the info string, lower case; '' when there is none */
  lang: string;
  /** the content, without the fence's indentation */
  text: string;
  /** the reason of a `<!-- not-run: reason -->` line right above the fence */
  notRun?: string;
}

/** Languages run command by command. */
export const SHELL_LANGS = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * Every markdown file whose blocks must run, in the order they run: README.md, apps/<app>/README.md,
 * packages/<pkg>/README.md, apps/relay/src/<stage>/README.md, infra/README.md, docs/*.md.
 */
export function docFiles(repo: string): string[] {
  const readmesUnder = (dir: string): string[] =>
    existsSync(join(repo, dir))
      ? readdirSync(join(repo, dir), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => `${dir}/${d.name}/README.md`)
          .sort()
      : [];
  const docs = existsSync(join(repo, 'docs'))
    ? readdirSync(join(repo, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return ['README.md', ...readmesUnder('apps'), ...readmesUnder('packages'), ...readmesUnder('apps/relay/src'), 'infra/README.md', ...docs].filter(
    (f) => existsSync(join(repo, f)),
  );
}

const OPEN = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const NOT_RUN = /^\s*<!--\s*not-run:\s*(\S.*?)\s*-->\s*$/;

/** The fenced blocks of one markdown text. An unclosed fence is an error (it would hide the rest of the file). */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = OPEN.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      const t = l.trim();
      if (t.length >= fence.length && t === fence[0]!.repeat(t.length)) break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: the fence ${fence} is never closed`);
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const marker = k >= 0 ? NOT_RUN.exec(lines[k]!) : null;
    blocks.push({ file, line: i + 1, lang: info.toLowerCase(), text: body.join('\n'), ...(marker ? { notRun: marker[1]! } : {}) });
    i = j;
  }
  return blocks;
}

export function docBlocks(repo: string): DocBlock[] {
  return docFiles(repo).flatMap((f) => extractBlocks(f, readFileSync(join(repo, f), 'utf8')));
}

/**
 * The commands of a shell block, one string each as bash reads them: lines ending in `\`, `|`, `&&` or `||`
 * continue the command, a here-document runs to its delimiter; comment and blank lines between commands are
 * left out. In a `console` block only `$ ` lines are commands (the rest is output).
 */
export function shellCommands(block: Pick<DocBlock, 'lang' | 'text'>): string[] {
  const lines = block.lang === 'console'
    ? block.text.split('\n').filter((l) => l.startsWith('$ ')).map((l) => l.slice(2))
    : block.text.split('\n');
  const commands: string[] = [];
  let current: string[] = [];
  let heredoc: string | undefined;
  const end = () => {
    commands.push(current.join('\n'));
    current = [];
  };
  for (const line of lines) {
    if (heredoc !== undefined) {
      current.push(line);
      if (line.trim() === heredoc) {
        heredoc = undefined;
        end();
      }
      continue;
    }
    if (current.length === 0 && /^\s*(#.*)?$/.test(line)) continue;
    current.push(line);
    const doc = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(line);
    if (doc) {
      heredoc = doc[2]!;
      continue;
    }
    if (/\\$/.test(line) || /(\||&&)\s*(#.*)?$/.test(line)) continue;
    end();
  }
  if (heredoc !== undefined) throw new Error(`the here-document ${heredoc} is never closed:\n${block.text}`);
  if (current.length > 0) end();
  return commands;
}
