/**
 * The shapes the Ghostbusters crew shares: what an expert finds and how a fix is written. Plain
 * data, so a run record can be written as JSON and replayed, and SARIF made from it.
 */

export type Severity = 'error' | 'warning' | 'note';
export type Confidence = 'high' | 'medium' | 'low';

/** One text edit: replace `[start, end)` (0-based offsets into the file as read) with `text`. A new file: `start = end = 0`, `create: true`. */
export interface TextEdit {
  file: string;
  start: number;
  end: number;
  text: string;
  create?: boolean;
}

export interface Fix {
  /** What the fix does, for people ("move the key to an env reference"). */
  description: string;
  edits: TextEdit[];
}

export interface Finding {
  /** Stable id: `security/hardcoded-credential`, `build/dockerfile-root-user`, ... */
  ruleId: string;
  /** The expert that found it (`security`, `build`, ...). */
  expert: string;
  message: string;
  severity: Severity;
  confidence: Confidence;
  /** Relative to the repository root, forward slashes. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  endLine?: number;
  endColumn?: number;
  fix?: Fix;
}

/** A repository as experts see it: its root and the files they may read (ignores applied). */
export interface RepoView {
  root: string;
  /** Relative paths, forward slashes, sorted; text files under the size limit only. */
  files: string[];
  read(file: string): string;
  /** Files left out and why (binary, too large, unreadable), for the report. */
  skipped: { file: string; why: string }[];
}

/** One expert of the crew: pure analysis of a repository, no writes. */
export interface Expert {
  id: string;
  description: string;
  /** Rule ids it can report, with a one-line description each (SARIF `rules`). */
  rules: Record<string, string>;
  detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]>;
}
