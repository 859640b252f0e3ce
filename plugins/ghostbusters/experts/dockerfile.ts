/**
 * A small Dockerfile reader: logical instructions with their positions. Written here rather than
 * taking dockerfile-ast (well kept, but it brings the VS Code language-server packages): the build
 * expert needs only keyword, arguments and offsets. Handles `\` continuations (and the `escape`
 * directive), comment lines inside continuations, and skips heredoc bodies.
 */
export interface Instruction {
  /** Upper-case: FROM, RUN, USER, ... */
  keyword: string;
  /** The arguments with continuations joined by a space. */
  args: string;
  /** 0-based offset of the keyword, of the first argument character, and of the end (before the newline). */
  start: number;
  argsStart: number;
  end: number;
  /** 0-based offset in the file of each character of `args` (for exact columns). */
  offsets: number[];
}

export function parseDockerfile(text: string): Instruction[] {
  const escape = /^#\s*escape\s*=\s*`/im.test(text.split('\n').slice(0, 5).join('\n')) ? '`' : '\\';
  const lines: { text: string; offset: number }[] = [];
  let offset = 0;
  for (const raw of text.split('\n')) {
    lines.push({ text: raw.replace(/\r$/, ''), offset });
    offset += raw.length + 1;
  }
  const out: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const { text: line, offset: lineStart } = lines[i];
    const m = /^(\s*)([A-Za-z]+)(\s+|$)/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const keyword = m[2].toUpperCase();
    const start = lineStart + m[1].length;
    let args = '';
    const offsets: number[] = [];
    let part = line.slice(m[0].length);
    let partStart = lineStart + m[0].length;
    let end = lineStart + line.length;
    for (;;) {
      const cont = part.trimEnd().endsWith(escape);
      const body = cont ? part.trimEnd().slice(0, -1) : part;
      for (let k = 0; k < body.length; k++) { args += body[k]; offsets.push(partStart + k); }
      end = partStart + part.length;
      if (!cont) break;
      // Continuation: skip comment and blank lines, as the builder does.
      while (i + 1 < lines.length && /^\s*(#|$)/.test(lines[i + 1].text)) i++;
      if (i + 1 >= lines.length) break;
      i++;
      args += ' ';
      offsets.push(partStart + part.length);
      part = lines[i].text;
      partStart = lines[i].offset;
    }
    const heredoc = /<<-?\s*["']?([A-Za-z_]\w*)["']?/.exec(args);
    if (heredoc && (keyword === 'RUN' || keyword === 'COPY')) {
      while (i + 1 < lines.length && lines[i + 1].text.trim() !== heredoc[1]) i++;
      i++;
    }
    const lead = args.length - args.trimStart().length;
    out.push({ keyword, args: args.trim(), start, argsStart: offsets[lead] ?? end, end, offsets: offsets.slice(lead) });
  }
  return out;
}

/** The offset in the file of `needle` within an instruction's arguments. */
export function offsetOf(ins: Instruction, needle: string, from = 0): number {
  const i = ins.args.indexOf(needle, from);
  return i < 0 ? ins.argsStart : ins.offsets[i] ?? ins.argsStart;
}
