/**
 * The check every rendered Cloud Run file passes before it is returned: the product's own reading
 * of a Service YAML (plugins/cloud-run/spec.ts, what `devloop cloudrun validate` runs), so a file
 * devloop writes is one `gcloud run services replace` and the local simulator both take.
 */
import { ConfigError, DevloopError } from '../../core/errors.js';
import { parseServiceYaml, validateSpec } from '../cloud-run/spec.js';

/** Throws a DevloopError naming the service when Cloud Run would refuse the file; returns what the simulator would not reproduce, as notes. */
export function validateCloudRunText(service: string, file: string, text: string): string[] {
  try {
    const spec = parseServiceYaml(text, file);
    const issues = validateSpec(spec);
    if (issues.length) throw new ConfigError(issues, { code: 'CLOUD_RUN_SPEC_INVALID', hint: '' });
    return spec.unsupported.map((n) => `${service}: ${n.path}: ${n.message}`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new DevloopError(`services.${service}: Cloud Run would refuse ${file}:\n${err.message}`, {
      code: 'PRODUCTION_CLOUD_RUN_INVALID', exitCode: 2, service, cause: err,
      hint: `fix services.${service} (environments, cloudRun, resources) in the Devfile; devloop cloudrun validate checks a file the same way`,
    });
  }
}
