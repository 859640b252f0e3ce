/**
 * Secrets never reach logs: values of env vars whose names look secret are replaced in every log
 * line the engine emits. Short values are left alone; replacing "1" everywhere helps nobody.
 */
const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH)/i;
const MIN_SECRET_LENGTH = 6;

export class Redactor {
  private secrets: string[] = [];

  /** Registers the secret-looking values of an env map. */
  addEnv(env: Record<string, string | undefined>): void {
    for (const [name, value] of Object.entries(env)) {
      if (value && value.length >= MIN_SECRET_LENGTH && SECRET_NAME.test(name)) this.add(value);
    }
  }

  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH || this.secrets.includes(secret)) return;
    this.secrets.push(secret);
    // Longest first so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    if (this.secrets.length === 0) return text;
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out;
  }
}

export function looksSecret(name: string): boolean {
  return SECRET_NAME.test(name);
}
