/**
 * ANSI SGR colour codes (`\x1b[...m`, the only escapes a log line still holds after cleanLine) as
 * spans: classes for the 16 basic colours, bold, dim, italic, underline and inverse; inline
 * styles for 256-colour and truecolour (element.style is allowed under the page's CSP).
 */
interface Style { fg?: string; bg?: string; fgRgb?: string; bgRgb?: string; bold?: boolean; dim?: boolean; italic?: boolean; underline?: boolean; inverse?: boolean }

const BASIC = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[([0-9;:]*)m/g;

/** Appends `text` to `el` as styled spans (plain text nodes where unstyled). */
export function appendSgr(el: HTMLElement, text: string, base?: string): void {
  if (!text.includes('\x1b')) { el.append(span(text, {}, base)); return; }
  let style: Style = {};
  let from = 0;
  SGR.lastIndex = 0;
  for (let m = SGR.exec(text); m; m = SGR.exec(text)) {
    if (m.index > from) el.append(span(text.slice(from, m.index), style, base));
    style = apply(style, m[1]);
    from = m.index + m[0].length;
  }
  if (from < text.length) el.append(span(text.slice(from), style, base));
}

function span(text: string, s: Style, base: string | undefined): Node {
  const cls: string[] = [];
  let fg = s.fg;
  let bg = s.bg;
  if (s.inverse) { [fg, bg] = [bg ?? 'inv-fg', fg ?? 'inv-bg']; }
  if (fg) cls.push(`c-${fg}`);
  else if (base) cls.push(base);
  if (bg) cls.push(`bg-${bg}`);
  if (s.bold) cls.push('b');
  if (s.dim) cls.push('dim');
  if (s.italic) cls.push('i');
  if (s.underline) cls.push('u');
  if (!cls.length && !s.fgRgb && !s.bgRgb) return document.createTextNode(text);
  const el = document.createElement('span');
  if (cls.length) el.className = cls.join(' ');
  if (s.fgRgb && !fg) el.style.color = s.fgRgb;
  if (s.bgRgb && !bg) el.style.backgroundColor = s.bgRgb;
  el.textContent = text;
  return el;
}

function apply(prev: Style, params: string): Style {
  const s: Style = { ...prev };
  const codes = params === '' ? [0] : params.split(/[;:]/).map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) { for (const k of Object.keys(s) as (keyof Style)[]) delete s[k]; }
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.inverse = true;
    else if (c === 22) { s.bold = false; s.dim = false; }
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c === 27) s.inverse = false;
    else if (c >= 30 && c <= 37) { s.fg = BASIC[c - 30]; s.fgRgb = undefined; }
    else if (c === 39) { s.fg = undefined; s.fgRgb = undefined; }
    else if (c >= 40 && c <= 47) { s.bg = BASIC[c - 40]; s.bgRgb = undefined; }
    else if (c === 49) { s.bg = undefined; s.bgRgb = undefined; }
    else if (c >= 90 && c <= 97) { s.fg = `${BASIC[c - 90]}Bright`; s.fgRgb = undefined; }
    else if (c >= 100 && c <= 107) { s.bg = `${BASIC[c - 100]}Bright`; s.bgRgb = undefined; }
    else if (c === 38 || c === 48) {
      const fgSide = c === 38;
      let colour: string | undefined;
      if (codes[i + 1] === 5) { colour = xterm256(codes[i + 2] ?? 0); i += 2; }
      else if (codes[i + 1] === 2) { colour = `rgb(${codes[i + 2] ?? 0},${codes[i + 3] ?? 0},${codes[i + 4] ?? 0})`; i += 4; }
      if (fgSide) { s.fg = undefined; s.fgRgb = colour; } else { s.bg = undefined; s.bgRgb = colour; }
    }
  }
  return s;
}

/** The xterm 256-colour palette: 16 basic (as the page's theme shows them), a 6x6x6 cube, 24 greys. */
function xterm256(n: number): string {
  if (n < 16) return `var(--ansi-${n})`;
  if (n < 232) {
    const v = n - 16;
    const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
    return `rgb(${level(Math.floor(v / 36))},${level(Math.floor(v / 6) % 6)},${level(v % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}
