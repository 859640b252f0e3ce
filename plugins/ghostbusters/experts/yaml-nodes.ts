/**
 * Reading Kubernetes and Cloud Run YAML as nodes with positions (the yaml package's LineCounter),
 * so a finding points at the very key that is wrong and a fix can replace its value in place.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import type { Pos } from './text.js';

export interface YamlFile {
  docs: Document[];
  at(offset: number): Pos;
}

/** Every document of a file, or undefined when it does not parse (other experts report syntax). */
export function readYaml(text: string): YamlFile | undefined {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false, logLevel: 'error' });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length)) return undefined;
  return { docs: list as Document[], at: (o) => { const { line, col } = counter.linePos(o); return { line, column: col }; } };
}

export function pair(map: unknown, key: string): Pair<Node, Node> | undefined {
  if (!isMap(map)) return undefined;
  return (map as YAMLMap<Node, Node>).items.find((p) => isScalar(p.key) && p.key.value === key);
}

export function get(node: unknown, ...keys: string[]): Node | undefined {
  let cur = node as Node | undefined;
  for (const k of keys) cur = pair(cur, k)?.value ?? undefined;
  return cur;
}

export const items = (node: unknown): Node[] => (isSeq(node) ? (node.items as Node[]) : []);
export const scalar = (node: unknown): unknown => (isScalar(node) ? node.value : undefined);
export const startOf = (node: { range?: [number, number, number] | null } | null | undefined): number => node?.range?.[0] ?? 0;

/** Where the pod spec of an object sits, or undefined for objects without pods. */
export function podSpecPath(kind: unknown, apiVersion: unknown): string[] | undefined {
  if (kind === 'Pod') return ['spec'];
  if (kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController'].includes(String(kind))) return ['spec', 'template', 'spec'];
  if (kind === 'Service' && String(apiVersion).startsWith('serving.knative.dev/')) return ['spec', 'template', 'spec'];
  return undefined;
}

export const isKnative = (apiVersion: unknown): boolean => String(apiVersion).startsWith('serving.knative.dev/');
