import type { Finding } from './types.js';

/**
 * A stable id for a finding (`rule@file:line:col`): findings carry no id of their own, and one
 * rule may fire many times in a file. Model explanations and the pipeline's notes key on it.
 */
export function findingId(f: Pick<Finding, 'ruleId' | 'file' | 'line' | 'column'>): string {
  return `${f.ruleId}@${f.file}:${f.line}:${f.column}`;
}
