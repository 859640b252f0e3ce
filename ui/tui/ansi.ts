/**
 * Styling and measuring pre-rendered rows (see `line.tsx` for why rows are pre-rendered).
 * Widths follow what terminals do: wide East Asian and emoji-presentation characters take two
 * columns, combining marks none.
 */
import type { Colour } from './theme.js';

export interface Segment {
  text: string;
  colour?: Colour;
  dim?: boolean;
  bold?: boolean;
  inverse?: boolean;
}

const FG: Record<Colour, number> = {
  red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, white: 37, gray: 90,
  redBright: 91, greenBright: 92, yellowBright: 93, blueBright: 94, magentaBright: 95, cyanBright: 96,
};
const RESET = '\x1b[0m';

/**
 * Styles a segment. Padding stays outside the codes unless inverted: Ink re-parses every
 * frame character by character, and a styled character costs it far more than a plain one.
 */
export function paint(s: Segment, colour: boolean): string {
  if (!colour || !(s.colour || s.dim || s.bold || s.inverse)) return s.text;
  const codes: number[] = [];
  if (s.bold) codes.push(1);
  if (s.dim) codes.push(2);
  if (s.inverse) codes.push(7);
  if (s.colour) codes.push(FG[s.colour]);
  if (s.inverse) return `\x1b[${codes.join(';')}m${s.text}${RESET}`;
  const body = s.text.trim();
  if (!body) return s.text;
  const lead = s.text.length - s.text.trimStart().length;
  const tail = s.text.length - lead - body.length;
  return `${s.text.slice(0, lead)}\x1b[${codes.join(';')}m${body}${RESET}${s.text.slice(s.text.length - tail)}`;
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])?/g;
// eslint-disable-next-line no-control-regex
const SGR = /^\x1b\[[0-9;:]*m$/;

/** Keeps colour codes, drops every other escape sequence (cursor moves, clears, titles, links). */
export function keepSgr(text: string): string {
  return text.includes('\x1b') ? text.replace(ESCAPE, (m) => (SGR.test(m) ? m : '')) : text;
}

const ZERO = /[\p{Mn}\p{Me}\u200b-\u200f\u2060\ufe00-\ufe0f]/u;
const WIDE = /\p{Emoji_Presentation}/u;

export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0)!;
  if (cp < 0x300) return cp < 0x20 ? 0 : 1;
  if (ZERO.test(ch)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) || (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return WIDE.test(ch) ? 2 : 1;
}

/**
 * Cuts `text` (which may hold colour codes) to at most `width` columns, ending in "…" when cut.
 * Returns the cut text and the columns it takes.
 */
export function cut(text: string, width: number): { text: string; width: number } {
  if (width <= 0) return { text: '', width: 0 };
  // Fast path: printable ASCII, the common case for log lines.
  if (/^[\x20-\x7e]*$/.test(text)) {
    if (text.length <= width) return { text, width: text.length };
    return { text: `${text.slice(0, width - 1)}…`, width };
  }
  let out = '';
  let used = 0;
  let i = 0;
  let cutAt = -1;
  let usedAtCut = 0;
  while (i < text.length) {
    if (text[i] === '\x1b') {
      const m = /^\x1b\[[0-9;:]*m/.exec(text.slice(i, i + 32));
      if (m) { out += m[0]; i += m[0].length; continue; }
      i++;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    const w = charWidth(ch);
    if (used + w > width) {
      // Back up to leave room for the ellipsis.
      if (cutAt >= 0) { out = out.slice(0, cutAt); used = usedAtCut; }
      return { text: `${out}…${text.includes('\x1b') ? RESET : ''}`, width: used + 1 };
    }
    if (used + w <= width - 1) { cutAt = out.length + ch.length; usedAtCut = used + w; }
    out += ch;
    used += w;
    i += ch.length;
  }
  return { text: out, width: used };
}
