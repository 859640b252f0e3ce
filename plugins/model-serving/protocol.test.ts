import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_BODY_BYTES, elementCount, encodeInferResponse, errorBody, floatToHalf, halfToFloat, modelMetadata, parseInferRequest, tensorFromValues,
} from './protocol.js';
import { ProtocolError } from './types.js';
import type { HostTensor, InferRequest, ModelSignature, V2Datatype } from './types.js';

const SIG: ModelSignature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] };
const SIG2: ModelSignature = {
  inputs: [{ name: 'a', datatype: 'INT64', shape: [1] }, { name: 'b', datatype: 'BYTES', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }, { name: 'z', datatype: 'INT64', shape: [-1] }],
};

const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
const parse = (o: unknown, sig = SIG): InferRequest => parseInferRequest(json(o), undefined, sig, 'm');
/** A binary-extension body: JSON header, then the chunks; returns the header length the client would send. */
function binaryBody(header: unknown, ...chunks: Buffer[]): { body: Buffer; headerLength: number } {
  const head = json(header);
  return { body: Buffer.concat([head, ...chunks]), headerLength: head.length };
}
/** Asserts a 400 ProtocolError with exactly this message. */
function rejects400(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${err}`);
    assert.equal(err.message, message);
    assert.equal(err.status, 400);
    return true;
  });
}
function splitResponse(res: { body: Buffer; headerLength?: number }): { header: any; text: string; binary: Buffer } {
  const end = res.headerLength ?? res.body.length;
  const text = res.body.subarray(0, end).toString('utf8');
  return { header: JSON.parse(text), text, binary: res.body.subarray(end) };
}
const vecSig = (datatype: V2Datatype): ModelSignature => ({ inputs: [{ name: 'x', datatype, shape: [-1] }], outputs: [{ name: 'x', datatype, shape: [-1] }] });
const respond = (outputs: HostTensor[], request: InferRequest) => encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs, request });

describe('FP16 conversion', () => {
  it('converts known values to their IEEE half bits, ties to even', () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00], [65504, 0x7bff], [0.1, 0x2e66], [-2, 0xc000], [0.5, 0x3800], [1 / 3, 0x3555],
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [0, 0x0000], [-0, 0x8000],
      [65519, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], // past the largest half: infinity
      [2 ** -24, 0x0001], [1023 * 2 ** -24, 0x03ff], [2 ** -14, 0x0400], // subnormals and the smallest normal
      [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000], // subnormal ties go to even
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], // normal ties go to even
      [1 + 2 ** -11 + 2 ** -30, 0x3c01], // just above a tie: rounding via float32 would tie and go down
    ];
    for (const [v, bits] of cases) assert.equal(floatToHalf(v), bits, `floatToHalf(${v})`);
    assert.equal(floatToHalf(NaN), 0x7e00);
  });

  it('converts half bits to values, and every non-NaN half round-trips', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x2e66), 0.0999755859375);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Object.is(halfToFloat(0x8000), -0));
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    for (let h = 0; h <= 0xffff; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaNs
      assert.equal(floatToHalf(halfToFloat(h)), h, `half 0x${h.toString(16)}`);
    }
  });
});

/** For each datatype: values sent, the typed data expected, and the exact JSON text of the output data. */
const ROUND_TRIPS: Array<{ dt: V2Datatype; values: unknown[]; expected: HostTensor['data']; text: string }> = [
  { dt: 'BOOL', values: [true, false, true], expected: new Uint8Array([1, 0, 1]), text: '[true,false,true]' },
  { dt: 'UINT8', values: [0, 255, 7], expected: new Uint8Array([0, 255, 7]), text: '[0,255,7]' },
  { dt: 'INT8', values: [-128, 127, 0], expected: new Int8Array([-128, 127, 0]), text: '[-128,127,0]' },
  { dt: 'UINT16', values: [0, 65535, 1], expected: new Uint16Array([0, 65535, 1]), text: '[0,65535,1]' },
  { dt: 'INT16', values: [-32768, 32767, -1], expected: new Int16Array([-32768, 32767, -1]), text: '[-32768,32767,-1]' },
  { dt: 'UINT32', values: [0, 4294967295, 1], expected: new Uint32Array([0, 4294967295, 1]), text: '[0,4294967295,1]' },
  { dt: 'INT32', values: [-2147483648, 2147483647, 5], expected: new Int32Array([-2147483648, 2147483647, 5]), text: '[-2147483648,2147483647,5]' },
  {
    dt: 'UINT64', values: ['18446744073709551615', 0, '9007199254740993'],
    expected: new BigUint64Array([18446744073709551615n, 0n, 9007199254740993n]), text: '[18446744073709551615,0,9007199254740993]',
  },
  {
    dt: 'INT64', values: ['-9223372036854775808', '9223372036854775807', -3, 9007199254740991],
    expected: new BigInt64Array([-9223372036854775808n, 9223372036854775807n, -3n, 9007199254740991n]),
    text: '[-9223372036854775808,9223372036854775807,-3,9007199254740991]',
  },
  { dt: 'FP16', values: [1, -2, 0.5, 65504, 0.1], expected: new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff, 0x2e66]), text: '[1,-2,0.5,65504,0.0999755859375]' },
  { dt: 'FP32', values: [1.5, -0.25, 0.1], expected: new Float32Array([1.5, -0.25, 0.1]), text: '[1.5,-0.25,0.10000000149011612]' },
  { dt: 'FP64', values: [0.1, -1e300, 5e-324], expected: new Float64Array([0.1, -1e300, 5e-324]), text: '[0.1,-1e+300,5e-324]' },
  { dt: 'BYTES', values: ['hello', '', 'ünï 😀 "q"'], expected: ['hello', '', 'ünï 😀 "q"'], text: '["hello","","ünï 😀 \\"q\\""]' },
];

describe('JSON round trips', () => {
  for (const { dt, values, expected, text } of ROUND_TRIPS) {
    it(`${dt}: parses into typed storage and writes the exact elements back`, () => {
      const req = parse({ inputs: [{ name: 'x', datatype: dt, shape: [values.length], data: values }] }, vecSig(dt));
      const x = req.inputs[0];
      assert.deepEqual(x.data, expected);
      assert.deepEqual(x.shape, [values.length]);
      const res = respond([x], req);
      assert.equal(res.headerLength, undefined);
      assert.equal(res.body.toString(), `{"model_name":"m","model_version":"1","outputs":[{"name":"x","datatype":"${dt}","shape":[${values.length}],"data":${text}}]}`);
    });
  }

  it('writes INT64 beyond 2^53 exactly as JSON numbers in the raw text', () => {
    const req = parse({ inputs: [{ name: 'a', datatype: 'INT64', shape: [1], data: ['9007199254740993'] }, { name: 'b', datatype: 'BYTES', shape: [0], data: [] }] }, SIG2);
    assert.deepEqual(req.inputs[0].data, new BigInt64Array([9007199254740993n]));
    const z = tensorFromValues('z', 'INT64', [2], ['9007199254740993', '-9223372036854775807']);
    const { text } = splitResponse(respond([z], req));
    assert.match(text, /"data":\[9007199254740993,-9223372036854775807\]/);
  });

  it('writes non-finite floats as NaN/Infinity tokens, as Triton does', () => {
    const y: HostTensor = { name: 'y', datatype: 'FP32', shape: [1, 4], data: new Float32Array([NaN, Infinity, -Infinity, 2]) };
    const res = respond([y], parse({ inputs: [{ name: 'x', datatype: 'FP32', shape: [0, 3], data: [] }] }));
    assert.match(res.body.toString(), /"data":\[NaN,Infinity,-Infinity,2\]\}\]\}$/);
  });

  it('accepts nested arrays that match the shape, filling row-major', () => {
    const req = parse({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [[1, 2, 3], [4, 5, 6]] }] });
    assert.deepEqual(req.inputs[0].data, new Float32Array([1, 2, 3, 4, 5, 6]));
    const t = tensorFromValues('t', 'INT32', [2, 1, 2], [[[1, 2]], [[3, 4]]]);
    assert.deepEqual(t.data, new Int32Array([1, 2, 3, 4]));
  });

  it('parses a 1000-float request straight into a Float32Array', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i / 8);
    const req = parse({ inputs: [{ name: 'x', datatype: 'FP32', shape: [250, 4], data: values }] }, { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [] });
    const data = req.inputs[0].data;
    assert.ok(data instanceof Float32Array);
    assert.equal(data.length, 1000);
    assert.equal(data[999], 999 / 8);
  });

  it('keeps id and parameters, returns inputs in signature order', () => {
    const req = parse({
      id: 'r1', parameters: { priority: 2 },
      inputs: [{ name: 'b', datatype: 'BYTES', shape: [1], data: ['s'] }, { name: 'a', datatype: 'INT64', shape: [1], data: [5] }],
    }, SIG2);
    assert.equal(req.id, 'r1');
    assert.deepEqual(req.parameters, { priority: 2 });
    assert.deepEqual(req.inputs.map((t) => t.name), ['a', 'b']);
    assert.equal(req.outputs, undefined);
    assert.equal(req.binaryOutputs, false);
    const res = encodeInferResponse({ modelName: 'm', modelVersion: '1', id: 'r1', parameters: { sequence_end: true }, outputs: [], request: req });
    assert.deepEqual(JSON.parse(res.body.toString()), { model_name: 'm', model_version: '1', id: 'r1', parameters: { sequence_end: true }, outputs: [] });
  });
});

/** The little-endian binary form of a tensor, built here independently of the code under test. */
function rawBytes(t: HostTensor): Buffer {
  if (Array.isArray(t.data)) {
    return Buffer.concat(t.data.map((s) => { const b = Buffer.from(s); const len = Buffer.alloc(4); len.writeUInt32LE(b.length); return Buffer.concat([len, b]); }));
  }
  return Buffer.from(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

describe('binary round trips', () => {
  for (const { dt, values, expected } of ROUND_TRIPS) {
    it(`${dt}: binary input parses to the same storage, binary output gives the same bytes`, () => {
      const chunk = rawBytes({ name: 'x', datatype: dt, shape: [values.length], data: expected });
      const { body, headerLength } = binaryBody({
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', datatype: dt, shape: [values.length], parameters: { binary_data_size: chunk.length } }],
      }, chunk);
      const req = parseInferRequest(body, headerLength, vecSig(dt), 'm');
      assert.deepEqual(req.inputs[0].data, expected);
      assert.equal(req.binaryOutputs, true);
      const res = respond([req.inputs[0]], req);
      const { header, binary } = splitResponse(res);
      assert.deepEqual(header.outputs, [{ name: 'x', datatype: dt, shape: [values.length], parameters: { binary_data_size: chunk.length } }]);
      assert.deepEqual(binary, chunk);
    });
  }

  it('reads the documented byte layouts (little-endian, length-prefixed BYTES)', () => {
    const sig: ModelSignature = {
      inputs: [{ name: 'f', datatype: 'FP32', shape: [1] }, { name: 'h', datatype: 'FP16', shape: [1] }, { name: 'i', datatype: 'INT64', shape: [1] },
        { name: 's', datatype: 'BYTES', shape: [2] }, { name: 'j', datatype: 'INT32', shape: [1] }],
      outputs: [],
    };
    const chunks = [Buffer.from([0, 0, 0x80, 0x3f]), Buffer.from([0x00, 0x3c]), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0])];
    const { body, headerLength } = binaryBody({
      inputs: [
        { name: 'f', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
        { name: 'h', datatype: 'FP16', shape: [1], parameters: { binary_data_size: 2 } },
        { name: 'j', datatype: 'INT32', shape: [1], data: [7] }, // JSON inputs mix with binary ones
        { name: 'i', datatype: 'INT64', shape: [1], parameters: { binary_data_size: 8 } },
        { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 10 } },
      ],
    }, ...chunks);
    const req = parseInferRequest(body, headerLength, sig, 'm');
    const [f, h, i, s, j] = req.inputs.map((t) => t.data);
    assert.deepEqual(f, new Float32Array([1]));
    assert.deepEqual(h, new Uint16Array([0x3c00]));
    assert.deepEqual(i, new BigInt64Array([-2n]));
    assert.deepEqual(s, ['ab', '']);
    assert.deepEqual(j, new Int32Array([7]));
  });
});

describe('outputs', () => {
  const req2 = (outputs?: unknown, parameters?: unknown) => parse({
    ...(parameters ? { parameters } : {}), ...(outputs ? { outputs } : {}),
    inputs: [{ name: 'a', datatype: 'INT64', shape: [1], data: [1] }, { name: 'b', datatype: 'BYTES', shape: [1], data: ['s'] }],
  }, SIG2);
  const y: HostTensor = { name: 'y', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) };
  const z: HostTensor = { name: 'z', datatype: 'INT64', shape: [3], data: new BigInt64Array([1n, 2n, 3n]) };

  it('returns only the requested outputs, in the requested order', () => {
    const req = req2([{ name: 'z' }, { name: 'y' }]);
    assert.deepEqual(req.outputs, [{ name: 'z', binary: false }, { name: 'y', binary: false }]);
    assert.deepEqual(splitResponse(respond([y, z], req)).header.outputs.map((o: any) => o.name), ['z', 'y']);
    const only = respond([y, z], req2([{ name: 'z' }]));
    assert.deepEqual(splitResponse(only).header.outputs, [{ name: 'z', datatype: 'INT64', shape: [3], data: [1, 2, 3] }]);
  });

  it('mixes binary and JSON outputs; headerLength is the JSON byte length', () => {
    const req = req2([{ name: 'y', parameters: { binary_data: true } }, { name: 'z' }]);
    const res = encodeInferResponse({ modelName: 'modèle', modelVersion: '1', outputs: [y, z], request: req });
    assert.ok(res.headerLength !== undefined);
    const text = res.body.subarray(0, res.headerLength).toString();
    assert.equal(res.headerLength, Buffer.byteLength(text)); // bytes, not characters: 'è' is two bytes
    assert.ok(res.headerLength > text.length);
    assert.equal(res.body.length, res.headerLength + 8);
    assert.deepEqual(JSON.parse(text).outputs, [
      { name: 'y', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
      { name: 'z', datatype: 'INT64', shape: [3], data: [1, 2, 3] },
    ]);
    assert.deepEqual(res.body.subarray(res.headerLength), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));
  });

  it('binary_data_output makes every output binary, chunks in output order; binary_data: false overrides it', () => {
    const all = respond([y, z], req2(undefined, { binary_data_output: true }));
    const { header, binary } = splitResponse(all);
    assert.deepEqual(header.outputs.map((o: any) => o.parameters.binary_data_size), [8, 24]);
    assert.equal(all.body.length, all.headerLength! + 32);
    assert.deepEqual(binary.subarray(0, 8), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]));
    assert.deepEqual(binary.subarray(8), rawBytes(z));

    const mixed = respond([y, z], req2([{ name: 'y' }, { name: 'z', parameters: { binary_data: false } }], { binary_data_output: true }));
    const split = splitResponse(mixed);
    assert.deepEqual(split.header.outputs[0].parameters, { binary_data_size: 8 });
    assert.deepEqual(split.header.outputs[1].data, [1, 2, 3]);
    assert.equal(split.binary.length, 8);
  });

  it('writes FP16 and BOOL outputs as numbers and booleans', () => {
    const h: HostTensor = { name: 'y', datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0x2e66]) };
    const b: HostTensor = { name: 'z', datatype: 'BOOL', shape: [2], data: new Uint8Array([0, 1]) };
    const { header } = splitResponse(respond([h, b], req2()));
    assert.deepEqual(header.outputs.map((o: any) => o.data), [[1, 0.0999755859375], [false, true]]);
  });

  it('answers 500 when the model output does not fit its shape or datatype (a runner bug, not the client)', () => {
    assert.throws(() => respond([{ name: 'y', datatype: 'FP32', shape: [1, 2], data: new Float32Array(3) }], req2()),
      { status: 500, message: 'output "y": shape [1,2] needs 2 elements, the model gave 3' });
    assert.throws(() => respond([{ name: 'y', datatype: 'FP32', shape: [2], data: new Float64Array(2) }], req2()),
      { status: 500, message: 'output "y": FP32 data came as Float64Array' });
    assert.throws(() => respond([y], req2([{ name: 'z' }])), { status: 500, message: 'output "z" was requested but the model gave y' });
  });
});

describe('request errors', () => {
  const x = (over: Record<string, unknown>) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6], ...over }] });

  it('names the input and what was expected', () => {
    rejects400(() => parse(x({ datatype: 'INT32' })), 'input "x": expected datatype FP32, got INT32');
    rejects400(() => parse(x({ datatype: 'FLOAT' })), 'input "x": expected datatype FP32, got FLOAT (not a v2 datatype)');
    rejects400(() => parse(x({ shape: [2, 4] })), 'input "x": expected shape [-1,3] (any size for dimension 0), got [2,4]');
    rejects400(() => parse(x({ shape: [6] })), 'input "x": expected shape [-1,3] (any size for dimension 0), got [6]');
    rejects400(() => parse(x({ shape: [2, -3] })), 'input "x": "shape" must be an array of non-negative integers, got [2,-3]');
    rejects400(() => parse(x({ data: [1, 2, 3, 4, 5] })), 'input "x": shape [2,3] needs 6 elements, got 5');
    rejects400(() => parse(x({ data: undefined })), 'input "x": needs "data" (an array) or parameters.binary_data_size');
    rejects400(() => parse({ inputs: [{ name: 'foo', datatype: 'FP32', shape: [1], data: [1] }] }), 'unknown input "foo"; the model takes x');
    rejects400(() => parse({ inputs: [] }), 'missing input "x" (FP32 [-1,3])');
    rejects400(() => parse({ inputs: [] }, SIG2), 'missing inputs "a" (INT64 [1]), "b" (BYTES [-1])');
    rejects400(() => parse({ inputs: [x({}).inputs[0], x({}).inputs[0]] }), 'input "x" is given twice');
    rejects400(() => parse({ ...x({}), outputs: [{ name: 'z' }] }), 'unknown output "z"; the model gives y');
    rejects400(() => parse({ ...x({}), outputs: [{ name: 'y' }, { name: 'y' }] }), 'output "y" is requested twice');
    rejects400(() => parse({ ...x({}), outputs: [{ name: 'y', parameters: { classification: 3 } }] }),
      'output "y": the classification extension is not supported; request the raw output');
  });

  it('rejects bodies that are not a v2 request', () => {
    let parserMessage = '';
    try { JSON.parse('{"inputs": [') } catch (err) { parserMessage = (err as Error).message; }
    rejects400(() => parseInferRequest(Buffer.from('{"inputs": ['), undefined, SIG, 'm'), `request body is not valid JSON: ${parserMessage}`);
    rejects400(() => parse({ id: 'r' }), 'request body needs "inputs": an array of {name, shape, datatype, data} for model "m"');
    rejects400(() => parse({ inputs: { x: [1] } }), 'request body needs "inputs": an array of {name, shape, datatype, data} for model "m"');
    rejects400(() => parse([1]), 'request body must be a JSON object with "inputs", got [1]');
    rejects400(() => parse({ ...x({}), id: 5 }), '"id" must be a string, got 5');
  });

  it('checks element types and integer ranges, naming the element index', () => {
    const sigOf = (dt: V2Datatype) => vecSig(dt);
    const one = (dt: V2Datatype, data: unknown[]) => parse({ inputs: [{ name: 'x', datatype: dt, shape: [data.length], data }] }, sigOf(dt));
    rejects400(() => one('INT8', [1, 300]), 'input "x": element 1 (300) is out of range for INT8 [-128, 127]');
    rejects400(() => one('UINT8', [-1]), 'input "x": element 0 (-1) is out of range for UINT8 [0, 255]');
    rejects400(() => one('UINT32', [4294967296]), 'input "x": element 0 (4294967296) is out of range for UINT32 [0, 4294967295]');
    rejects400(() => one('INT32', [1.5]), 'input "x": element 0 must be an integer for INT32, got 1.5');
    rejects400(() => one('FP32', [1, 'a']), 'input "x": element 1 must be a number for FP32, got "a"');
    rejects400(() => one('BOOL', [1]), 'input "x": element 0 must be true or false for BOOL, got 1');
    rejects400(() => one('BYTES', [3]), 'input "x": element 0 must be a string for BYTES, got 3');
    rejects400(() => one('UINT64', ['-1']), 'input "x": element 0 (-1) is out of range for UINT64 [0, 18446744073709551615]');
    rejects400(() => one('INT64', ['9223372036854775808']), 'input "x": element 0 (9223372036854775808) is out of range for INT64 [-9223372036854775808, 9223372036854775807]');
    rejects400(() => one('INT64', ['12x']), 'input "x": element 0 must be an integer (a number, or a string of digits) for INT64, got "12x"');
    // 9007199254740993 is not a double: JSON.parse hands over 9007199254740992, which must not be trusted.
    rejects400(() => parseInferRequest(Buffer.from('{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}'), undefined, sigOf('INT64'), 'm'),
      'input "x": element 0 (9007199254740992) is beyond 2^53-1, where JSON numbers lose precision; send it as a string of digits, e.g. "9007199254740993"');
  });

  it('checks that nested data matches the shape', () => {
    rejects400(() => parse(x({ data: [[1, 2, 3], [4, 5]] })), 'input "x": nested data does not match shape [2,3]: data[1] should hold 3 elements, got 2 elements');
    rejects400(() => parse(x({ data: [[1, 2, 3, 4, 5, 6]] })), 'input "x": nested data does not match shape [2,3]: data should hold 2 elements, got 1 elements');
    rejects400(() => parse(x({ data: [[1, 2, 3], 4] })), 'input "x": nested data does not match shape [2,3]: data[1] should hold 3 elements, got 4');
    rejects400(() => parse(x({ data: [[[1], [2], [3]], [4, 5, 6]] })), 'input "x": element 0 must be a number for FP32, got [1]');
  });

  it('checks the binary extension framing', () => {
    const input = (size: number) => ({ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: size } });
    const twelve = Buffer.alloc(12);
    const send = (header: unknown, bin: Buffer, headerLength?: number) => {
      const b = binaryBody(header, bin);
      return parseInferRequest(b.body, headerLength ?? b.headerLength, SIG, 'm');
    };
    rejects400(() => send({ inputs: [input(16)] }, twelve), 'input "x": binary_data_size 16 runs past the end of the binary data (12 of 12 bytes left)');
    rejects400(() => send({ inputs: [input(8)] }, Buffer.alloc(8)), 'input "x": binary_data_size is 8 but shape [1,3] of FP32 needs 12 bytes');
    rejects400(() => send({ inputs: [input(12)] }, Buffer.alloc(20)), 'the binary data after the JSON header is 20 bytes but the inputs\' binary_data_size add up to 12');
    const whole = binaryBody({ inputs: [input(12)] }, twelve).body;
    rejects400(() => parseInferRequest(whole, whole.length + 1, SIG, 'm'), `Inference-Header-Content-Length is ${whole.length + 1} but the body has only ${whole.length} bytes`);
    rejects400(() => send({ inputs: [input(12)] }, twelve, NaN), 'Inference-Header-Content-Length must be a byte count, got NaN');
    rejects400(() => parseInferRequest(json({ inputs: [input(12)] }), undefined, SIG, 'm'),
      'input "x" has binary_data_size but the request has no Inference-Header-Content-Length header to mark where the binary data starts');
    rejects400(() => send({ inputs: [{ ...input(12), data: [1, 2, 3] }] }, twelve), 'input "x": give either "data" or parameters.binary_data_size, not both');
    rejects400(() => send({ inputs: [input(-1)] }, twelve), 'input "x": binary_data_size must be a byte count, got -1');
    const bytesSig = vecSig('BYTES');
    const bytesReq = (bin: Buffer, n: number) => {
      const b = binaryBody({ inputs: [{ name: 'x', datatype: 'BYTES', shape: [n], parameters: { binary_data_size: bin.length } }] }, bin);
      return parseInferRequest(b.body, b.headerLength, bytesSig, 'm');
    };
    rejects400(() => bytesReq(Buffer.from([5, 0, 0, 0, 0x61]), 1), 'input "x": BYTES element 0 says 5 bytes but only 1 remain in its binary_data_size');
    rejects400(() => bytesReq(Buffer.from([1, 0, 0, 0, 0x61, 1, 0]), 2), 'input "x": BYTES element 1 is cut off inside its 4-byte length');
    rejects400(() => bytesReq(Buffer.from([1, 0, 0, 0, 0x61]), 2), 'input "x": shape [2] needs 2 elements, got 1 in the binary data');
    rejects400(() => bytesReq(Buffer.from([1, 0, 0, 0, 0xff]), 1), 'input "x": BYTES element 0 is not valid UTF-8 (this server passes BYTES to the model as strings)');
    const boolReq = binaryBody({ inputs: [{ name: 'x', datatype: 'BOOL', shape: [2], parameters: { binary_data_size: 2 } }] }, Buffer.from([1, 2]));
    rejects400(() => parseInferRequest(boolReq.body, boolReq.headerLength, vecSig('BOOL'), 'm'), 'input "x": BOOL element 1 is byte 2; BOOL elements are one byte, 0 or 1');
  });
});

describe('helpers', () => {
  it('modelMetadata lists the signature in v2 form', () => {
    assert.deepEqual(modelMetadata('m', ['1'], SIG), {
      name: 'm', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    });
  });

  it('errorBody, elementCount, MAX_BODY_BYTES', () => {
    assert.equal(errorBody('bad "x"').toString(), '{"error":"bad \\"x\\""}');
    assert.equal(elementCount([]), 1);
    assert.equal(elementCount([2, 0, 3]), 0);
    assert.equal(elementCount([2, 3, 4]), 24);
    assert.equal(MAX_BODY_BYTES, 64 * 1024 * 1024);
  });

  it('tensorFromValues applies the same checks, naming the tensor', () => {
    const t = tensorFromValues('e', 'FP16', [2], [1, -2]);
    assert.deepEqual(t, { name: 'e', datatype: 'FP16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) });
    assert.deepEqual(tensorFromValues('n', 'INT64', [2], [3n, '4']).data, new BigInt64Array([3n, 4n]));
    rejects400(() => tensorFromValues('e', 'INT16', [1], [40000]), 'tensor "e": element 0 (40000) is out of range for INT16 [-32768, 32767]');
    rejects400(() => tensorFromValues('e', 'FP32', [2, 2], [1, 2, 3]), 'tensor "e": shape [2,2] needs 4 elements, got 3');
  });
});
