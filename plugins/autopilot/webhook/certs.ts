/**
 * The webhook's TLS: a CA of its own and a serving certificate for 127.0.0.1 it signs, made with
 * the `openssl` CLI (Node's crypto makes keys but cannot sign X.509, and the CLI ships with every
 * Debian, macOS and Git-for-Windows install, so no dependency is needed). A fresh pair per
 * cluster and per run: the CA only ever sits in that cluster's `caBundle`, and its key never
 * leaves memory once read back (the temporary folder is removed at once).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WebhookCerts {
  /** PEM of the CA, for the configurations' `caBundle`. */
  ca: string;
  /** PEM of the serving certificate (IP:127.0.0.1, DNS:localhost). */
  cert: string;
  /** PEM of its private key. */
  key: string;
}

export class CertError extends Error {
  constructor(message: string) { super(message); this.name = 'CertError'; }
}

/** A new CA and serving certificate, valid for `days` (the webhook lives as long as one devloop session). */
export async function makeCerts(days = 30, openssl = process.env.DEVLOOP_OPENSSL ?? 'openssl'): Promise<WebhookCerts> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'devloop-webhook-'));
  const at = (f: string) => path.join(dir, f);
  const ssl = async (...args: string[]) => {
    try {
      await run(openssl, args, { timeout: 20_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new CertError(`"${openssl}" was not found: the Autopilot webhook needs the openssl CLI to make its certificates; install openssl or set DEVLOOP_OPENSSL to its path`);
      throw new CertError(`${openssl} ${args[0]} failed: ${(e.stderr || e.message).trim().split('\n').slice(-2).join(' ')}`);
    }
  };
  try {
    await ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('ca.key'));
    await ssl('req', '-x509', '-new', '-key', at('ca.key'), '-subj', '/CN=devloop autopilot webhook CA', '-days', String(days), '-out', at('ca.crt'));
    await ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', at('tls.key'));
    await ssl('req', '-new', '-key', at('tls.key'), '-subj', '/CN=127.0.0.1', '-out', at('tls.csr'));
    await writeFile(at('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
    await ssl('x509', '-req', '-in', at('tls.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', String(days), '-extfile', at('ext'), '-out', at('tls.crt'));
    const [ca, cert, key] = await Promise.all([readFile(at('ca.crt'), 'utf8'), readFile(at('tls.crt'), 'utf8'), readFile(at('tls.key'), 'utf8')]);
    return { ca, cert, key };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
