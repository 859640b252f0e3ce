/**
 * Denials as the API server returns them to kubectl: GKE Warden's admission message with its
 * "Violations details" JSON, Warden's authorizer message for managed namespaces, or the API
 * server's own validation error for a value it cannot parse.
 */
import { CONSTRAINTS } from './messages.js';
import type { Denial } from './placement.js';

export const WARDEN_WEBHOOK = 'warden-validating.common-webhooks.networking.gke.io';
export const API_SERVER_VALIDATION = 'api-server-validation';

export interface RequestedBy {
  user: string;
  groups: string[];
}

/**
 * The full text for a set of denials. `object` names it in API-server validation errors.
 * Constraints are ordered by id and messages keep their order, as Go's JSON encoding of
 * Warden's map does ([seen]: keys always appear sorted in real responses).
 */
export function formatDenials(denials: Denial[], object: { kind?: string; name?: string } = {}, requestedBy?: RequestedBy): string {
  const authz = denials.find((d) => d.constraint === CONSTRAINTS.managedNamespaces);
  if (authz) return `GKE Warden authz [denied by ${CONSTRAINTS.managedNamespaces}]: ${authz.message}`;
  const invalid = denials.filter((d) => d.constraint === API_SERVER_VALIDATION);
  if (invalid.length) {
    return `The ${object.kind ?? 'object'} "${object.name ?? ''}" is invalid: ${invalid.length === 1 ? invalid[0].message : `[${invalid.map((d) => d.message).join(', ')}]`}`;
  }
  const grouped: Record<string, string[]> = {};
  for (const id of [...new Set(denials.map((d) => d.constraint))].sort()) {
    grouped[`[denied by ${id}]`] = denials.filter((d) => d.constraint === id).map((d) => d.message);
  }
  let text = `admission webhook "${WARDEN_WEBHOOK}" denied the request: GKE Warden rejected the request because it violates one or more constraints.\n` +
    `Violations details: ${goJson(grouped)}`;
  if (requestedBy) text += `\nRequested by user: '${requestedBy.user}', groups: '${requestedBy.groups.join(',')}'.`;
  return text;
}

/** JSON as Go's encoding/json writes it: HTML-significant characters escaped. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
