/**
 * `devloop render`: the Devfile as devloop resolved it for the selected environment (function
 * form evaluated, env merged per environment), as YAML, or JSON with `--output json`. Secret-looking
 * env values are masked.
 */
import { stringify } from 'yaml';
import { serviceEnv } from '../../core/engine/env.js';
import { looksSecret, Redactor } from '../../core/engine/redact.js';
import { EXIT, load, type GlobalOptions } from '../shared.js';

export async function render(opts: GlobalOptions): Promise<number> {
  const loaded = await load(opts, 'render');
  const cfg = loaded.config;
  const services = Object.fromEntries(Object.entries(cfg.services).map(([name, svc]) => {
    const env = Object.fromEntries(Object.entries(serviceEnv(cfg, svc, opts.env)).map(([k, v]) => [k, looksSecret(k) ? '[redacted]' : v]));
    const { envByEnvironment: _merged, ...rest } = svc;
    return [name, { ...rest, env }];
  }));
  const plugins = (cfg.plugins ?? []).map((p) => (typeof p === 'string' ? p : Array.isArray(p) ? { [p[0]]: p[1] } : `inline: ${p.name}`));
  // The merged env is masked by name above; a secret's value can also sit elsewhere (the raw
  // `environments` blocks, a test command that uses it): every declared secret value, from every
  // environment, is redacted from the whole document.
  const redactor = new Redactor();
  redactor.addEnv(process.env, { ambient: true });
  for (const mode of new Set([opts.env, ...Object.keys(cfg.environments ?? {})])) {
    for (const svc of Object.values(cfg.services)) redactor.addEnv(serviceEnv(cfg, svc, mode));
  }
  const doc = redactor.redactDeep({ devfile: loaded.file, environment: opts.env, ...cfg, plugins, services });
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
  return EXIT.ok;
}
