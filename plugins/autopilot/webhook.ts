/**
 * The admission engine as a Kubernetes webhook would serve it: an AdmissionReview in, an
 * AdmissionReview out (JSONPatch, warnings, 403 with Warden's text). Pure, like `admit`; an HTTP
 * server only has to parse the body and write this back.
 */
import { admit } from './admission.js';
import type { ClusterSettings } from './settings.js';
import type { K8sObject } from './types.js';
import { formatDenials } from './warden.js';

export interface AdmissionReviewRequest {
  apiVersion?: string;
  kind?: 'AdmissionReview';
  request: {
    uid: string;
    operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
    object: K8sObject;
    userInfo?: { username?: string; groups?: string[] };
  };
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    warnings?: string[];
    patchType?: 'JSONPatch';
    /** Base64 of the JSON patch. */
    patch?: string;
    status?: { code: number; message: string };
  };
}

export function review(body: AdmissionReviewRequest, settings: ClusterSettings = {}): AdmissionReviewResponse {
  const { uid, object, operation = 'CREATE', userInfo } = body.request;
  const result = admit(object, { ...settings, verb: settings.verb ?? operation.toLowerCase() });
  const base = { apiVersion: 'admission.k8s.io/v1' as const, kind: 'AdmissionReview' as const };
  const warnings = result.warnings.length ? { warnings: result.warnings } : {};
  if (!result.allowed) {
    const requestedBy = userInfo?.username ? { user: userInfo.username, groups: userInfo.groups ?? [] } : undefined;
    const message = formatDenials(result.denials, { kind: object.kind, name: object.metadata?.name }, requestedBy);
    return { ...base, response: { uid, allowed: false, ...warnings, status: { code: 403, message } } };
  }
  const patch = JSON.stringify(object.spec === undefined && result.mutated.spec === undefined ? [] : [{ op: object.spec === undefined ? 'add' : 'replace', path: '/spec', value: result.mutated.spec }]);
  const changed = JSON.stringify(object.spec) !== JSON.stringify(result.mutated.spec);
  return { ...base, response: { uid, allowed: true, ...warnings, ...(changed ? { patchType: 'JSONPatch' as const, patch: Buffer.from(patch).toString('base64') } : {}) } };
}
