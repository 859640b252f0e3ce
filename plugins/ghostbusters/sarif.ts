/**
 * Findings as SARIF 2.1.0 (the OASIS format code-scanning tools and editors read). One run, tool
 * `devloop-ghostbusters`, its rules the experts' `rules`; each fix as a SARIF fix with
 * character-offset replacements (JavaScript string offsets are UTF-16 units, as SARIF counts).
 */
import { pathToFileURL } from 'node:url';
import { findingId } from './finding-id.js';
import type { Expert, Finding } from './types.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** `explanations` (by `findingId`, from the model) go in each result's properties. */
export function toSarif(root: string, experts: Expert[], findings: Finding[], failures: { expert: string; message: string }[], explanations: Record<string, string> = {}): object {
  const rules = experts.flatMap((e) => Object.entries(e.rules).map(([id, text]) => ({ id, shortDescription: { text }, properties: { expert: e.id } })));
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = findings.map((f) => ({
    ruleId: f.ruleId,
    ...(index.has(f.ruleId) ? { ruleIndex: index.get(f.ruleId) } : {}),
    level: f.severity,
    message: { text: f.message },
    locations: [{
      physicalLocation: {
        artifactLocation: { uri: encodeURI(f.file), uriBaseId: '%SRCROOT%' },
        region: { startLine: f.line, startColumn: f.column, ...(f.endLine ? { endLine: f.endLine } : {}), ...(f.endColumn ? { endColumn: f.endColumn } : {}) },
      },
    }],
    properties: { expert: f.expert, confidence: f.confidence, ...(explanations[findingId(f)] ? { explanation: explanations[findingId(f)] } : {}) },
    ...(f.fix ? {
      fixes: [{
        description: { text: f.fix.description },
        artifactChanges: f.fix.edits.map((e) => ({
          artifactLocation: { uri: encodeURI(e.file), uriBaseId: '%SRCROOT%' },
          replacements: [{ deletedRegion: { charOffset: e.start, charLength: e.end - e.start }, insertedContent: { text: e.text } }],
        })),
      }],
    } : {}),
  }));
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [{
      tool: { driver: { name: 'devloop-ghostbusters', rules } },
      originalUriBaseIds: { '%SRCROOT%': { uri: `${pathToFileURL(root).href}/` } },
      invocations: [{
        executionSuccessful: failures.length === 0,
        toolExecutionNotifications: failures.map((x) => ({ level: 'error', message: { text: `expert ${x.expert} failed: ${x.message}` } })),
      }],
      results,
    }],
  };
}
