import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addQuantity, canonical, cpuFromMilli, formatQuantity, parseQuantity, QuantityError, toBytes, toMilli } from './quantity.js';

describe('quantity', () => {
  // Each pair: what a manifest says -> what the API server prints back.
  const cases: [string | number, string][] = [
    ['500m', '500m'], ['1000m', '1'], ['1500m', '1500m'], ['0.5', '500m'], ['1.5', '1500m'], [1, '1'], [0.25, '250m'],
    ['308m', '308m'], ['2', '2'], ['0.1m', '100u'], ['1n', '1n'], ['0.0000000001', '1n'],
    ['2Gi', '2Gi'], ['2048Mi', '2Gi'], ['1536Mi', '1536Mi'], ['1.5Gi', '1536Mi'], ['512Mi', '512Mi'], ['0.5Gi', '512Mi'],
    ['1Ki', '1Ki'], ['1023', '1023'], ['0.5Ki', '512'], ['1.1Ki', '1126400m'],
    ['1G', '1G'], ['1000M', '1G'], ['500M', '500M'], ['100000', '100k'], ['128974848', '128974848'], ['129e6', '129e6'], ['1e3', '1e3'],
    ['1E3', '1e3'], [1e21, '1e21'], ['0', '0'], ['0Gi', '0'], ['+5', '5'], ['-500m', '-500m'], ['.5', '500m'], ['5.', '5'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} prints as ${expected}`, () => assert.equal(canonical(input), expected));
  }

  it('rejects what the API server rejects', () => {
    for (const bad of ['', 'abc', '1.2.3', '5 Gi', '1GB', 'm', '--1', '1Kb']) assert.throws(() => parseQuantity(bad), QuantityError, bad);
  });

  it('adds in the format of the receiver, like Quantity.Add', () => {
    assert.equal(formatQuantity(addQuantity(parseQuantity('200m'), cpuFromMilli(108))), '308m');
    assert.equal(formatQuantity(addQuantity(parseQuantity('800m'), cpuFromMilli(200))), '1');
    assert.equal(formatQuantity(addQuantity(parseQuantity('100M'), parseQuantity('924Mi'))), '1068884224');
    assert.equal(formatQuantity(addQuantity(undefined, parseQuantity('2Gi'))), '2Gi');
    assert.equal(formatQuantity(addQuantity(parseQuantity('0'), parseQuantity('2Gi'))), '2Gi');
  });

  it('converts to millicores and bytes, rounding up', () => {
    assert.equal(toMilli(parseQuantity('0.1m')), 1);
    assert.equal(toMilli(parseQuantity('1.5')), 1500);
    assert.equal(toBytes(parseQuantity('1.5Gi')), 1610612736);
    assert.equal(toBytes(parseQuantity('1795Gi')), 1795 * 1024 ** 3);
  });
});
