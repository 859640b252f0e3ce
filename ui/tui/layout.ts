/**
 * Splits the terminal's rows between the sections. The frame is one row shorter than the
 * terminal: Ink clears the whole screen (and the scrollback) on every frame that fills it.
 */
export interface Sections {
  header: number;
  /** Table, details or help, including its header row. */
  main: number;
  errors: number;
  /** Log pane, including its title row. */
  logs: number;
  footer: number;
}

export interface LayoutInput {
  rows: number;
  view: 'table' | 'details' | 'help';
  services: number;
  /** Lines the error panel would like, including its title. */
  errorLines: number;
  /** Lines the details or help view would like. */
  mainLines: number;
}

export function sections({ rows, view, services, errorLines, mainLines }: LayoutInput): Sections {
  const total = Math.max(4, rows - 1);
  const header = 1;
  const footer = 1;
  let body = total - header - footer;
  const errors = errorLines ? Math.min(errorLines, Math.max(2, Math.floor(body / 4))) : 0;
  body -= errors;
  // The table takes what it needs up to 45% of the body; details and help up to 65%. The logs
  // keep at least four rows (title + 3) when there is any room at all.
  const wanted = view === 'table' ? services + 1 : mainLines;
  const share = view === 'table' ? 0.45 : 0.65;
  const main = Math.max(Math.min(2, body), Math.min(wanted, Math.floor(body * share), Math.max(0, body - 4)));
  const logs = Math.max(0, body - main);
  return { header, main, errors, logs, footer };
}
