import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildFailure, instructionLines, parseStep } from './build-errors.js';

it('maps builder steps to Dockerfile lines across comments, continuations and stages', () => {
  const text = [
    '# syntax=docker/dockerfile:1', // parser directive
    'FROM node:20 AS deps',         // 2: step 1
    '',
    '# a comment',
    'RUN apt-get update && \\',      // 5: step 2
    '    apt-get install -y git',
    'FROM deps',                    // 7: step 3
    'COPY . .',                     // 8: step 4
  ].join('\n');
  assert.deepEqual(instructionLines(text), [2, 5, 7, 8]);
  assert.deepEqual(instructionLines('# escape=`\nFROM x\nRUN a `\n  b\nCMD c'), [2, 3, 5]);
});

it('parses step lines', () => {
  assert.deepEqual(parseStep('Step 3/7 : RUN npm ci'), { index: 3, total: 7, instruction: 'RUN npm ci' });
  assert.equal(parseStep(' ---> Running in 1a2b'), undefined);
});

it('names the step, its Dockerfile line, its output and a hint that fits the failure', () => {
  const err = buildFailure({
    service: 'api', root: '/p', dockerfile: '/p/Dockerfile', dockerfileText: 'FROM x\nCOPY missing.txt /\n',
    step: { index: 2, total: 2, instruction: 'COPY missing.txt /' },
    error: 'COPY failed: file not found in build context or excluded by .dockerignore: stat missing.txt: file does not exist',
    lastLines: [],
  });
  assert.equal(err.code, 'BUILD_FAILED');
  assert.match(err.message, /^Dockerfile:2: docker build failed at step 2\/2 \(COPY missing\.txt \/\): COPY failed/);
  assert.deepEqual(err.location, { file: 'Dockerfile', line: 2, column: 1, frame: 'COPY missing.txt /\n^' });
  assert.match(err.hint!, /services\.api\.build\.context and not excluded by \.dockerignore/);

  const base = buildFailure({
    service: 'api', root: '/p', dockerfile: '/p/Dockerfile', dockerfileText: 'FROM nope/nothing:1\n',
    step: { index: 1, total: 1, instruction: 'FROM nope/nothing:1' },
    error: 'pull access denied for nope/nothing, repository does not exist or may require \'docker login\'',
    lastLines: [],
  });
  assert.match(base.hint!, /the base image nope\/nothing:1 is not on this machine and could not be pulled/);
});

it('says the last good image keeps running only when the caller says one runs', () => {
  const input = {
    service: 'api', root: '/p', dockerfile: '/p/Dockerfile', dockerfileText: 'FROM x\nRUN make\n',
    step: { index: 2, total: 2, instruction: 'RUN make' },
    error: "The command '/bin/sh -c make' returned a non-zero code: 2",
    lastLines: [],
  };
  assert.equal(buildFailure(input).hint, 'the command of that step failed (its output is above); fix it in Dockerfile or in the code it builds, and save');
  assert.equal(buildFailure({ ...input, lastGoodRunning: true }).hint, 'the command of that step failed (its output is above); fix it in Dockerfile or in the code it builds, and save; the last good image keeps running meanwhile');
  assert.equal(buildFailure({ ...input, step: undefined, error: 'something odd' }).hint, 'fix Dockerfile and save');
  assert.equal(buildFailure({ ...input, step: undefined, error: 'something odd', lastGoodRunning: true }).hint, 'fix Dockerfile and save; the last good image keeps running meanwhile');
});
