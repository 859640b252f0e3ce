import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DevloopError } from '../errors.js';
import { Redactor } from './redact.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----';

describe('Redactor', { timeout: 5_000 }, () => {
  it('redacts a declared secret of any length, even three characters', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.add('Zq7');
    assert.equal(r.redact('key=Zq7;'), 'key=[redacted];');
  });

  it('redacts short values of secret-looking names in a declared env, but not ambient short values', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.addEnv({ API_TOKEN: 'Zq7', LOG_LEVEL: 'debug' });
    r.addEnv({ SOME_TOKEN: 'xyz' }, { ambient: true });
    assert.equal(r.redact('Zq7 debug xyz'), '[redacted] debug xyz');
  });

  it('leaves flag-like values of secret-looking names alone', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.addEnv({ AUTH_ENABLED: 'true', SKIP_AUTH: '1' });
    assert.equal(r.redact('{"ok":true,"n":1}'), '{"ok":true,"n":1}');
  });

  it('redacts each line of a multi-line secret when it is printed line by line', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.add(PEM);
    for (const line of PEM.split('\n')) assert.equal(r.redact(`  ${line}  `), '  [redacted]  ');
    assert.equal(r.redact(`key: ${PEM}`), 'key: [redacted]');
  });

  it('redacts the JSON-escaped form of a secret', { timeout: 2_000 }, () => {
    const r = new Redactor();
    const secret = 'p"w\\d\'x1';
    r.add(secret);
    r.add(PEM);
    assert.equal(r.redact(JSON.stringify({ pw: secret })), '{"pw":"[redacted]"}');
    assert.equal(r.redact(JSON.stringify({ key: PEM })), '{"key":"[redacted]"}');
  });

  it('redacts the standard and url-safe base64 forms of a secret', { timeout: 2_000 }, () => {
    const r = new Redactor();
    const secret = 'ä?>~secret~>?';
    r.add(secret);
    const std = Buffer.from(secret).toString('base64');
    const url = Buffer.from(secret).toString('base64url');
    assert.notEqual(std.replace(/=+$/, ''), url, 'the test needs a value whose two encodings differ');
    assert.equal(r.redact(`a ${std} b`), 'a [redacted] b');
    assert.equal(r.redact(`a ${url} b`), 'a [redacted] b');
    assert.equal(r.redact(`a ${std.replace(/=+$/, '')} b`), 'a [redacted] b');
  });

  it('replaces a secret containing another one whole', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.add('abc');
    r.add('xxabcxx');
    assert.equal(r.redact('1 xxabcxx 2 abc'), '1 [redacted] 2 [redacted]');
  });

  it('redacts every string of a nested value and keeps what has no secret as is', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.add('hunter2');
    const clean = { a: 1, b: ['x'] };
    const action = { type: 'service/failed', service: 's', error: { message: 'boom hunter2', hint: 'try hunter2', cause: { message: 'at hunter2' } }, clean };
    const out = r.redactDeep(action);
    assert.equal(out.error.message, 'boom [redacted]');
    assert.equal(out.error.hint, 'try [redacted]');
    assert.equal(out.error.cause.message, 'at [redacted]');
    assert.equal(out.clean, clean, 'untouched branches keep their identity');
    assert.equal(action.error.message, 'boom hunter2', 'the input is not mutated');
    const map = new Map([['k', 'hunter2']]);
    assert.equal(r.redactDeep({ map }).map, map, 'class instances are passed through, never rebuilt');
  });

  it('redacts an error in place: message, hint, stack and cause', { timeout: 2_000 }, () => {
    const r = new Redactor();
    r.add('hunter2');
    const err = new DevloopError('bad hunter2', { code: 'X', hint: 'use hunter2', cause: new Error('inner hunter2') });
    const same = r.redactError(err) as DevloopError;
    assert.equal(same, err);
    assert.equal(err.message, 'bad [redacted]');
    assert.equal(err.hint, 'use [redacted]');
    assert.ok(!String(err.stack).includes('hunter2'));
    assert.equal((err.cause as Error).message, 'inner [redacted]');
    assert.ok(!JSON.stringify(err.toJSON()).includes('hunter2'));
  });
});
