// The webview message machinery without VS Code: two Endpoints wired back to back (request/response by id,
// errors as { error }, timeouts, events), the envelope parser, and the validators.
import { strict as assert } from 'node:assert';
import { Endpoint, parseEnvelope, RemoteError } from '../../src/webview/shared/endpoint';
import { check } from '../../src/webview/shared/validate';
import { asFloat32, asFloat64 } from '../../src/webview/shared/binary';
import type { RequestSpec } from '../../src/webview/protocol';

type HostReqs = { add: RequestSpec<{ a: number; b: number }, number>; fail: RequestSpec<Record<string, never>, never>; slow: RequestSpec<Record<string, never>, string> };
type PageReqs = { echo: RequestSpec<{ text: string }, string> };
type HostEvents = { init: { n: number } };
type PageEvents = { clicked: { x: number } };

function pair(): { host: Endpoint<PageReqs, HostReqs, HostEvents, PageEvents>; page: Endpoint<HostReqs, PageReqs, PageEvents, HostEvents>; wire: unknown[] } {
  const wire: unknown[] = [];
  // Messages go through structuredClone, as postMessage would copy them (ArrayBuffers survive).
  const deliver = (to: () => Endpoint<any, any, any, any>) => (msg: unknown) => {
    wire.push(msg);
    const copy = structuredClone(msg);
    const env = parseEnvelope(copy);
    assert.ok(env.ok, `envelope of ${JSON.stringify(msg)}`);
    setImmediate(() => void to().receive(env.message));
  };
  const host: Endpoint<PageReqs, HostReqs, HostEvents, PageEvents> = new Endpoint(deliver(() => page), { timeoutMs: 200 });
  const page: Endpoint<HostReqs, PageReqs, PageEvents, HostEvents> = new Endpoint(deliver(() => host), { timeoutMs: 200 });
  return { host, page, wire };
}

describe('webview protocol: endpoints', () => {
  it('a request is answered by the response with its id; concurrent requests do not mix', async () => {
    const { host, page, wire } = pair();
    host.onRequest('add', async (p) => {
      await new Promise((r) => setTimeout(r, p.a === 1 ? 20 : 0)); // the first answers last
      return p.a + p.b;
    });
    const [r1, r2] = await Promise.all([page.sendRequest('add', { a: 1, b: 2 }), page.sendRequest('add', { a: 10, b: 20 })]);
    assert.deepEqual([r1, r2], [3, 30]);
    const reqs = wire.filter((m) => (m as { kind: string }).kind === 'request') as { requestId: number }[];
    const resps = wire.filter((m) => (m as { kind: string }).kind === 'response') as { inReplyTo: number }[];
    assert.deepEqual(resps.map((r) => r.inReplyTo).sort(), reqs.map((r) => r.requestId).sort());
    assert.equal(page.pendingCount, 0);
  });

  it('a handler that throws is answered { error: message }, and the caller gets a RemoteError', async () => {
    const { host, page, wire } = pair();
    host.onRequest('fail', () => {
      throw new Error('no such member "nope"');
    });
    await assert.rejects(page.sendRequest('fail', {}), (e: unknown) => e instanceof RemoteError && /no such member "nope"/.test(e.message));
    const resp = wire.find((m) => (m as { kind: string }).kind === 'response') as { error?: string; result?: unknown };
    assert.equal(resp.error, 'no such member "nope"');
    assert.ok(!('result' in resp) || resp.result === undefined);
  });

  it('an unknown request type is answered with an error; a missing response times out', async () => {
    const { page } = pair();
    await assert.rejects(page.sendRequest('add', { a: 1, b: 1 }), /unknown request type "add"/);
    const lonely = new Endpoint<HostReqs, PageReqs, PageEvents, HostEvents>(() => undefined, { timeoutMs: 30 });
    await assert.rejects(lonely.sendRequest('slow', {}), /no response to "slow" within 30 ms/);
  });

  it('events reach every subscriber; requests both ways', async () => {
    const { host, page } = pair();
    const got: number[] = [];
    page.onEvent('init', (b) => got.push(b.n));
    page.onEvent('init', (b) => got.push(b.n * 10));
    page.onRequest('echo', (p) => p.text.toUpperCase());
    await host.sendEvent('init', { n: 4 });
    assert.equal(await host.sendRequest('echo', { text: 'hi' }), 'HI');
    assert.deepEqual(got, [4, 40]);
  });

  it('binary payloads travel as ArrayBuffers and come back as typed arrays', async () => {
    const { host, page } = pair();
    const f = Float32Array.from([1.5, -2, 3]);
    host.onRequest('add', () => f.buffer as never);
    const buf = (await page.sendRequest('add', { a: 0, b: 0 })) as unknown as ArrayBuffer;
    assert.ok(buf instanceof ArrayBuffer);
    assert.deepEqual([...asFloat32(buf)], [1.5, -2, 3]);
    const view = new Float64Array([7, 8, 9, 10]).subarray(1, 3);
    assert.deepEqual([...asFloat64(view)], [8, 9]);
    assert.throws(() => asFloat32(new ArrayBuffer(6)), /not a whole number/);
  });

  it('dispose rejects pending requests', async () => {
    const ep = new Endpoint<HostReqs, PageReqs, PageEvents, HostEvents>(() => undefined, { timeoutMs: 10_000 });
    const p = ep.sendRequest('slow', {});
    ep.dispose();
    await assert.rejects(p, /the panel is closed/);
  });
});

describe('webview protocol: envelope and validators', () => {
  it('parseEnvelope accepts the four kinds and refuses anything else, keeping a readable request id', () => {
    assert.ok(parseEnvelope({ kind: 'ready', panel: 'npzPreview', protocolVersion: 1 }).ok);
    assert.ok(parseEnvelope({ kind: 'event', type: 'rendered', body: {} }).ok);
    assert.ok(parseEnvelope({ kind: 'request', requestId: 3, type: 'readSlice', params: {} }).ok);
    assert.ok(parseEnvelope({ kind: 'response', inReplyTo: 3, error: 'x' }).ok);
    for (const bad of [null, 42, 'ready', [], {}, { kind: 'shout' }, { kind: 'request', type: 'x' }, { kind: 'event', type: 'bad type!' },
      { kind: 'response', inReplyTo: 0 }, { kind: 'response', inReplyTo: 1, error: 5 }]) {
      assert.equal(parseEnvelope(bad).ok, false, JSON.stringify(bad));
    }
    const r = parseEnvelope({ kind: 'request', requestId: 9, type: 'no spaces allowed' });
    assert.ok(!r.ok && r.requestId === 9);
  });

  it('object checks name the path of the first problem and refuse unexpected fields', () => {
    const slice = check.object<{ member: string; frame?: number }>({ member: check.string({ nonEmpty: true }), frame: check.optional(check.int({ min: 0 })) });
    assert.equal(slice({ member: 'diffraction', frame: 3 }, 'params'), undefined);
    assert.equal(slice({ member: 'diffraction' }, 'params'), undefined);
    assert.match(slice({ member: 'diffraction', frame: -1 }, 'params')!, /params\.frame must be ≥ 0/);
    assert.match(slice({ member: 'diffraction', frame: 1.5 }, 'params')!, /params\.frame must be an integer/);
    assert.match(slice({ frame: 1 }, 'params')!, /params\.member must be a string/);
    assert.match(slice({ member: 'd', extra: 1 }, 'params')!, /unexpected field "extra"/);
    assert.match(slice([1], 'params')!, /must be an object, got an array/);
    const bin = check.binary({ maxBytes: 8 });
    assert.equal(bin(new ArrayBuffer(8)), undefined);
    assert.equal(bin(new Uint8Array(4)), undefined);
    assert.match(bin(new ArrayBuffer(9))!, /over the 8-byte limit/);
    assert.match(bin([1, 2, 3])!, /ArrayBuffer or a typed array/);
  });

  it('record checks every value and bounds the number of keys', () => {
    const stages = check.record(check.number({ min: 0 }), { maxKeys: 2 });
    assert.equal(stages({ derive: 1.5, 'recon-amp.colormap': 0 }, 'stagesMs'), undefined);
    assert.match(stages({ derive: -1 }, 'stagesMs')!, /stagesMs\.derive must be ≥ 0/);
    assert.match(stages({ a: 1, b: 2, c: 3 }, 'stagesMs')!, /more than 2 keys/);
    assert.match(stages([1], 'stagesMs')!, /must be an object, got an array/);
    assert.match(stages({ ['k'.repeat(201)]: 1 }, 'stagesMs')!, /key longer than 200/);
  });
});
