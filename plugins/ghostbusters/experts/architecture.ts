/**
 * The architecture expert: import cycles, and imports that break the layering rules the Devfile
 * declares (layers.ts).
 *
 * Cycles are the strongly connected components (Tarjan) of the graph of relative imports. Each
 * component is reported once, at the import that closes its shortest cycle through its first
 * file, with that cycle as the message. Two graphs:
 * - value imports (static `import`, `export ... from`, `require`): a cycle here decides module
 *   load order, and a module can see another's bindings still uninitialised: a warning;
 * - plus `import type`: no effect at run time, but the two modules can no longer be understood or
 *   moved apart (plugin.ts <-> runtime.ts): a note, reported only where the value graph has no
 *   such component already.
 * `import()` is left out of both: a lazy import is the usual way to break a cycle on purpose.
 */
import type { Expert, Finding, RepoView } from '../types.js';
import { compileLayers, devfileLayers, type LayerRule } from './layers.js';
import { byPlace, moduleGraph, position, type ModuleImport } from './modules.js';

const EXPERT = 'architecture';

export const ARCHITECTURE_RULES: Record<string, string> = {
  'architecture/import-cycle': 'Modules that import each other (value imports): load order decides which sees the other half-initialised.',
  'architecture/type-import-cycle': 'Modules tied in a cycle only through `import type`: no run-time effect, but they cannot be understood or moved apart.',
  'architecture/layer-violation': 'An import a layering rule of the Devfile (ai.ghostbusters.layers) forbids.',
  'architecture/layers-unchecked': 'The Devfile\'s layering rules could not be read (the Devfile fails to load, or the rules are malformed).',
};

type Graph = Map<string, string[]>;

/** Strongly connected components, each sorted, in no particular order. */
export function stronglyConnected(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  return out;
}

/** The shortest path `from` -> ... -> `to` inside `within` (breadth first), both ends included. */
function shortestPath(graph: Graph, from: string, to: string, within: ReadonlySet<string>): string[] | undefined {
  const prev = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  while (queue.length) {
    const v = queue.shift()!;
    if (v === to) {
      const path = [v];
      for (let p = prev.get(v); p !== undefined; p = prev.get(p)) path.unshift(p);
      return path;
    }
    for (const w of graph.get(v) ?? []) {
      if (within.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

function isCycle(scc: string[], graph: Graph): boolean {
  return scc.length > 1 || (graph.get(scc[0]) ?? []).includes(scc[0]);
}

type Modules = ReturnType<typeof moduleGraph>;

function edges(modules: Modules, kinds: ReadonlySet<ModuleImport['kind']>): Graph {
  const g: Graph = new Map();
  for (const [file, { imports }] of modules) {
    g.set(file, [...new Set(imports.filter((i) => i.target && kinds.has(i.kind)).map((i) => i.target!))].sort());
  }
  return g;
}

function cycleFinding(modules: Modules, ruleId: string, cycle: string[], closing: { from: string; to: string }, kinds: ReadonlySet<ModuleImport['kind']>, total: number): Finding {
  const { sf, imports } = modules.get(closing.from)!;
  const imp = imports.find((i) => i.target === closing.to && kinds.has(i.kind))!;
  const more = total > cycle.length - 1 ? ` (${total} modules are tied together in all)` : '';
  const kind = ruleId === 'architecture/import-cycle' ? 'import cycle' : 'import cycle through `import type`';
  return {
    ruleId, expert: EXPERT, severity: ruleId === 'architecture/import-cycle' ? 'warning' : 'note', confidence: 'high',
    file: closing.from, ...position(sf, imp.pos),
    message: `${kind}: ${cycle.join(' -> ')}${more}; break it by moving what both need into a module of its own, or import one side lazily`,
  };
}

export function findCycles(modules: Modules): Finding[] {
  const VALUE = new Set<ModuleImport['kind']>(['value']);
  const TYPE = new Set<ModuleImport['kind']>(['type']);
  const STATIC = new Set<ModuleImport['kind']>(['value', 'type']);
  const valueGraph = edges(modules, VALUE);
  const fullGraph = edges(modules, STATIC);
  const typeGraph = edges(modules, TYPE);
  const out: Finding[] = [];
  const reported = new Set<string>();
  for (const scc of stronglyConnected(valueGraph)) {
    if (!isCycle(scc, valueGraph)) continue;
    reported.add(scc.join('\n'));
    const start = scc[0];
    const within = new Set(scc);
    // Shortest way from start back to itself: through each successor inside the component.
    const paths = (valueGraph.get(start) ?? []).filter((w) => within.has(w)).map((w) => (w === start ? [start] : shortestPath(valueGraph, w, start, within))).filter((p): p is string[] => !!p);
    const best = paths.sort((a, b) => a.length - b.length)[0];
    const cycle = [start, ...best];
    out.push(cycleFinding(modules, 'architecture/import-cycle', cycle, { from: cycle[cycle.length - 2], to: start }, VALUE, scc.length));
  }
  for (const scc of stronglyConnected(fullGraph)) {
    if (!isCycle(scc, fullGraph) || reported.has(scc.join('\n'))) continue;
    const within = new Set(scc);
    // The component exists only through type imports: close the cycle at the first of them.
    for (const u of scc) {
      const v = (typeGraph.get(u) ?? []).find((w) => within.has(w) && !(valueGraph.get(u) ?? []).includes(w));
      if (v === undefined) continue;
      const back = v === u ? [u] : shortestPath(fullGraph, v, u, within);
      if (!back) continue;
      out.push(cycleFinding(modules, 'architecture/type-import-cycle', [u, ...back], { from: u, to: v }, TYPE, scc.length));
      break;
    }
  }
  return out;
}

export function findLayerViolations(modules: Modules, rules: readonly LayerRule[]): Finding[] {
  const matchers = compileLayers(rules);
  const out: Finding[] = [];
  if (!matchers.length) return out;
  for (const [file, { sf, imports }] of modules) {
    for (const i of imports) {
      for (const m of matchers) {
        const pattern = m.forbids(file, i.specifier, i.target);
        if (pattern === undefined) continue;
        const from = Array.isArray(m.rule.from) ? m.rule.from.join(', ') : m.rule.from;
        out.push({
          ruleId: 'architecture/layer-violation', expert: EXPERT, severity: 'error', confidence: 'high', file, ...position(sf, i.pos),
          message: `${file} imports '${i.specifier}'${i.kind === 'value' ? '' : ` (${i.kind} import)`}, but layer rule ${m.index + 1} says ${from} must not import ${pattern}${m.rule.because ? `: ${m.rule.because}` : ''}`,
        });
        break;
      }
    }
  }
  return out;
}

export interface ArchitectureOptions {
  /** Layering rules to check; when absent they are read from the Devfile at the repository root. */
  layers?: LayerRule[];
}

export function createArchitectureExpert(options: ArchitectureOptions = {}): Expert {
  return {
    id: EXPERT,
    description: 'Import cycles among the repository\'s modules, and imports that break the layering rules declared in the Devfile (ai.ghostbusters.layers).',
    rules: ARCHITECTURE_RULES,
    async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
      signal.throwIfAborted();
      const declared = options.layers ? { layers: options.layers } : await devfileLayers(repo.root);
      signal.throwIfAborted();
      const modules = moduleGraph(repo);
      signal.throwIfAborted();
      const findings = [...findCycles(modules), ...findLayerViolations(modules, declared.layers)];
      if ('problem' in declared && declared.problem) {
        findings.push({ ruleId: 'architecture/layers-unchecked', expert: EXPERT, severity: 'warning', confidence: 'high', file: 'Devfile.ts', line: declared.problem.line, column: declared.problem.column, message: declared.problem.message });
      }
      return findings.sort(byPlace);
    },
  };
}

export const architectureExpert: Expert = createArchitectureExpert();
