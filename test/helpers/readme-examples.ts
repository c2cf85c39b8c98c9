/**
 * The examples of a Markdown file (the README), as the README test runs them.
 *
 * - A fenced block whose first line starts with `$ ` holds shell examples: each `$ ` line is a
 *   command (a line ending in `\` continues on the next), the lines after it up to the next
 *   `$ ` line are what it prints, standard output and error together as a terminal shows them.
 *   A line that is only `...` (indented or not) stands for one or more whole lines. A command
 *   that ends with `# exit N` must exit with N, every other one with 0.
 * - A fenced `ts` or `mjs` block is library code; the fenced `text` block after it (after every
 *   consecutive code block) is what it prints, with the same `...` rule.
 * - A fenced `sh` block shows commands without their output (set-up, commands on files the reader
 *   has): its `vmstate …` lines must be accepted by the command line.
 */

/** One shell example. */
export interface ShellExample {
  /** 1-based line of the `$ ` in the file. */
  line: number;
  command: string;
  exitCode: number;
  expected: string[];
}

/** Library code and the output it must print. */
export interface CodeExample {
  line: number;
  lang: 'ts' | 'mjs';
  code: string;
  expected: string[];
}

/** A command shown without output. */
export interface ShownCommand {
  line: number;
  command: string;
}

/** Everything {@link readmeExamples} finds, in file order. */
export interface ReadmeExamples {
  shell: ShellExample[];
  code: CodeExample[];
  shown: ShownCommand[];
  /** The fenced blocks in order (language tag, first line of content), for checks on the layout. */
  blocks: { lang: string; line: number; body: string[] }[];
}

/** Splits Markdown into its examples. Throws on a code block without its output block. */
export function readmeExamples(markdown: string): ReadmeExamples {
  const lines = markdown.split('\n');
  const blocks: ReadmeExamples['blocks'] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    if (j >= lines.length) throw new Error(`line ${i + 1}: unclosed code block`);
    blocks.push({ lang: open[1]!, line: start + 1, body: lines.slice(start, j) });
    i = j;
  }
  const out: ReadmeExamples = { shell: [], code: [], shown: [], blocks };
  let pending: { lang: 'ts' | 'mjs'; line: number; code: string }[] = [];
  for (const b of blocks) {
    if (b.lang === 'ts' || b.lang === 'mjs') {
      pending.push({ lang: b.lang, line: b.line, code: b.body.join('\n') + '\n' });
      continue;
    }
    if (pending.length) {
      if (b.lang !== 'text') throw new Error(`line ${pending[0]!.line}: a ${pending[0]!.lang} example needs a \`\`\`text block with its output after it`);
      for (const p of pending) out.code.push({ ...p, expected: b.body });
      pending = [];
      continue;
    }
    if (b.lang === 'sh') {
      b.body.forEach((l, k) => {
        if (/^vmstate\s/.test(l)) out.shown.push({ line: b.line + k, command: l });
      });
      continue;
    }
    if (b.lang === '' && b.body[0]?.startsWith('$ ')) out.shell.push(...shellExamples(b.body, b.line));
  }
  if (pending.length) throw new Error(`line ${pending[0]!.line}: a ${pending[0]!.lang} example needs a \`\`\`text block with its output after it`);
  return out;
}

function shellExamples(body: string[], first: number): ShellExample[] {
  const out: ShellExample[] = [];
  for (let k = 0; k < body.length; k++) {
    const l = body[k]!;
    if (!l.startsWith('$ ')) {
      out.at(-1)!.expected.push(l);
      continue;
    }
    let command = l.slice(2);
    const line = first + k;
    while (command.endsWith('\\') && k + 1 < body.length) command = command.slice(0, -1).trimEnd() + ' ' + body[++k]!.trim();
    const exit = /#\s*exit (\d+)\s*$/.exec(command);
    out.push({ line, command, exitCode: exit ? Number(exit[1]) : 0, expected: [] });
  }
  // A blank line separates examples in one block; it is not output.
  for (const e of out) while (e.expected.length && e.expected.at(-1)!.trim() === '') e.expected.pop();
  return out;
}

/**
 * Whether `actual` output matches the `expected` lines: line for line (trailing spaces aside),
 * where a `...` line matches one or more whole lines. Returns null on a match, else the first
 * expected line (1-based index) that could not be matched, for the message.
 */
export function matchLines(expected: readonly string[], actual: readonly string[]): number | null {
  const exp = expected.map((l) => l.trimEnd());
  const act = actual.map((l) => l.trimEnd());
  while (act.length && act.at(-1) === '') act.pop();
  const memo = new Map<string, boolean>();
  let furthest = 0;
  const go = (i: number, j: number): boolean => {
    furthest = Math.max(furthest, i);
    if (i === exp.length) return j === act.length;
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let ok = false;
    if (exp[i]!.trim() === '...') {
      for (let k = j + 1; k <= act.length && !ok; k++) ok = go(i + 1, k);
    } else ok = j < act.length && exp[i] === act[j] && go(i + 1, j + 1);
    memo.set(key, ok);
    return ok;
  };
  return go(0, 0) ? null : Math.min(furthest, exp.length - 1) + 1;
}
