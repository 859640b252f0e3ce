/**
 * Credentials for a push, from the docker CLI's config (`docker login` writes them there). Only
 * inline `auths` entries are read; credential helpers (`credsStore`, `credHelpers`) are not run,
 * and such registries get an anonymous push, which a local registry accepts.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
}

export function registryAuth(host: string, env: NodeJS.ProcessEnv = process.env): RegistryAuth {
  const file = path.join(env.DOCKER_CONFIG || path.join(os.homedir(), '.docker'), 'config.json');
  let config: { auths?: Record<string, { auth?: string }> };
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
  const registryHost = host.split('/')[0];
  const entry = Object.entries(config.auths ?? {}).find(([key]) => key.replace(/^https?:\/\//, '').split('/')[0] === registryHost)?.[1];
  if (!entry?.auth) return {};
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return {};
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1), serveraddress: registryHost };
}
