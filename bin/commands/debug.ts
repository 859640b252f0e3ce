/** `devloop debug <service>`: the Node inspector for a service. Needs runtime support not built yet. */
import { DevloopError } from '../../core/errors.js';
import { load, type GlobalOptions } from '../shared.js';

export async function debug(opts: GlobalOptions, service: string): Promise<number> {
  const loaded = await load(opts, 'debug');
  if (!loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ')}` });
  }
  throw new DevloopError('"devloop debug" is not available yet: restarting a service with the Node inspector needs the debug support of the local runtimes, which is not built yet', {
    code: 'NOT_IMPLEMENTED',
    hint: `meanwhile, add "--inspect=127.0.0.1:9229" to services.${service}.command and open chrome://inspect`,
  });
}
