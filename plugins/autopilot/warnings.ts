/**
 * The one warning autopilot-default-resources-mutator returns per object, assembled from what
 * admission did to each container. Two shapes exist ([seen], see NEW_WARNING_FORMAT_VERSION):
 * old clusters say "defaulted unspecified resources" for any filled-in value and end without a
 * period; new ones name the resource ('cpu', else 'memory') and end with one.
 */
import { WARNING } from './messages.js';
import type { ResourceOutcome } from './resources.js';

/**
 * @param object  `Deployment default/web`
 * @param order   container names in GKE's order (init containers first)
 */
export function mutatorWarning(object: string, order: string[], outcome: ResourceOutcome, newFormat: boolean): string | undefined {
  const clauses: string[] = [];
  if (newFormat) {
    // New clusters name one resource per container and never ephemeral-storage alone ([seen]:
    // a container with nothing set is reported as 'cpu' only). *verify* for partial specs.
    for (const r of ['cpu', 'memory'] as const) {
      const list = order.filter((c) => {
        const d = outcome.defaulted.get(c) ?? [];
        return r === 'cpu' ? d.includes('cpu') : !d.includes('cpu') && d.includes('memory');
      });
      if (list.length) clauses.push(WARNING.defaultedOne(r, list));
    }
  } else {
    const list = order.filter((c) => outcome.defaulted.has(c) || outcome.filledLimits.has(c));
    if (list.length) clauses.push(WARNING.defaultedAll(list));
  }
  const adjusted = order.filter((c) => outcome.adjusted.has(c));
  if (adjusted.length) clauses.push(WARNING.adjusted(adjusted));
  if (!clauses.length) return undefined;
  return `${WARNING.prefix(object)}${clauses.join(WARNING.join)}${newFormat ? '.' : ''}`;
}
