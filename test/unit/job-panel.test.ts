// The job panel's pure parts: the incremental file tailer (appended bytes only; truncated, replaced and
// rewritten files; very long files; torn lines), the log store, search and windowing arithmetic, the loss
// chart's data from events (restarts, resumes, lr reductions, negative losses on a log axis), the quality
// chart's data (quality events checked, folded, captioned), and the panel state (which actions are enabled,
// event mapping).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTail } from '../../src/core/run/fileTail';
import { buildReconState, jobActions, qualityEventCheck, toReconEvents, toTrainEvents } from '../../src/extension/jobPanel/summary';
import type { ReconstructionJob } from '../../src/core/study/reconstructJobs';
import { parseEvents, describeEvent, type RunEvent } from '../../src/core/run/events';
import { LogSearch, LogStore, atBottom, findInLine, lineKind, scrollToShow, visibleRange } from '../../src/webview/jobPanel/logModel';
import {
  ChartModel, chartCsv, describeQuality, emaSmooth, logTicks, nearestEpoch, nearestQuality, qualityCaption, qualityEmptyText, qualitySeries, qualityXRange, qualityYRange, shownValues, yAxis,
} from '../../src/webview/jobPanel/chartModel';
import type { PreviewImage, TrainEvent } from '../../src/webview/protocol';
import { differenceImage, stripEpochs } from '../../src/webview/jobPanel/previewModel';
import { tempDir } from './helpers/paths';

async function drain(t: FileTail): Promise<{ lines: string[]; partial: string; resets: number; updates: number }> {
  const out = { lines: [] as string[], partial: '', resets: 0, updates: 0 };
  for (const u of await t.readAll()) {
    if (u.reset) {
      out.resets++;
      out.lines = [];
    }
    out.lines.push(...u.lines);
    out.partial = u.partial;
    out.updates++;
  }
  return out;
}

describe('job panel: incremental file tail', () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  beforeEach(() => {
    tmp = tempDir('ptycho-tail-');
    file = path.join(tmp.dir, 'train.log');
  });
  afterEach(() => tmp.cleanup());

  it('reads a file, then only what was appended; nothing when nothing changed', async () => {
    fs.writeFileSync(file, 'one\ntwo\n');
    const t = new FileTail(file);
    const first = await t.read();
    assert.ok(first && first.reset && !first.missing);
    assert.deepEqual(first.lines, ['one', 'two']);
    assert.equal(first.partial, '');
    assert.equal(await t.read(), undefined, 'no change: no update');
    fs.appendFileSync(file, 'three\n');
    const next = await t.read();
    assert.ok(next && !next.reset);
    assert.deepEqual(next.lines, ['three']);
    assert.equal(next.offset, fs.statSync(file).size);
  });

  it('holds an unterminated line as `partial` until its newline arrives; CRLF is stripped', async () => {
    fs.writeFileSync(file, 'a\r\nb');
    const t = new FileTail(file);
    const u1 = (await t.read())!;
    assert.deepEqual(u1.lines, ['a']);
    assert.equal(u1.partial, 'b');
    fs.appendFileSync(file, 'cd');
    const u2 = (await t.read())!;
    assert.deepEqual(u2.lines, []);
    assert.equal(u2.partial, 'bcd');
    fs.appendFileSync(file, '\ne\n');
    const u3 = (await t.read())!;
    assert.deepEqual(u3.lines, ['bcd', 'e']);
    assert.equal(u3.partial, '');
  });

  it('never splits a UTF-8 character across reads', async () => {
    const text = 'α→β ✓ 测试\n';
    const bytes = Buffer.from(text.repeat(400));
    fs.writeFileSync(file, bytes);
    const t = new FileTail(file, { chunkBytes: 1024 + 1 }); // chunk boundaries fall inside characters
    const r = await drain(t);
    assert.ok(r.updates > 3);
    assert.equal(r.lines.length, 400);
    assert.ok(r.lines.every((l) => l === 'α→β ✓ 测试'));
  });

  it('a truncated file is read again from the start as a new generation', async () => {
    fs.writeFileSync(file, 'old 1\nold 2\nold 3\n');
    const t = new FileTail(file);
    const g1 = (await t.read())!.generation;
    fs.writeFileSync(file, 'new\n');
    const u = (await t.read())!;
    assert.ok(u.reset);
    assert.ok(u.generation > g1);
    assert.deepEqual(u.lines, ['new']);
  });

  it('a file replaced by rename (new inode) is read again', async () => {
    fs.writeFileSync(file, 'first run\n');
    const t = new FileTail(file);
    await t.read();
    const other = path.join(tmp.dir, 'x.tmp');
    fs.writeFileSync(other, 'second run, longer than the first\nline 2\n');
    fs.renameSync(other, file);
    const u = (await t.read())!;
    assert.ok(u.reset);
    assert.deepEqual(u.lines, ['second run, longer than the first', 'line 2']);
  });

  it('a file rewritten in place to at least the same size with other bytes is recognised (guard bytes)', async () => {
    fs.writeFileSync(file, 'aaaa\nbbbb\n');
    const t = new FileTail(file);
    await t.read();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('cccc\ndddd\neeee\n'), 0, 15, 0);
    fs.closeSync(fd);
    const u = (await t.read())!;
    assert.ok(u.reset, 'rewritten content means a new generation');
    assert.deepEqual(u.lines, ['cccc', 'dddd', 'eeee']);
  });

  it('a missing file says so once, then is read when it appears', async () => {
    const t = new FileTail(file);
    const u = (await t.read())!;
    assert.ok(u.missing && u.reset);
    assert.equal(await t.read(), undefined);
    fs.writeFileSync(file, 'hello\n');
    const v = (await t.read())!;
    assert.ok(v.reset && !v.missing);
    assert.deepEqual(v.lines, ['hello']);
  });

  it('100,000 lines arrive in chunks (`more`), every line once, in order', async () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `[2026-01-01T00:00:00.000Z] epoch ${i % 50} step ${i} loss -91.${i % 1000}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const t = new FileTail(file, { chunkBytes: 256 * 1024 });
    const t0 = performance.now();
    const r = await drain(t);
    const ms = performance.now() - t0;
    assert.equal(r.lines.length, lines.length);
    assert.equal(r.lines[0], lines[0]);
    assert.equal(r.lines[99_999], lines[99_999]);
    assert.ok(r.updates > 10, `${r.updates} updates`);
    assert.ok(ms < 5000, `read in ${ms.toFixed(0)} ms`);
  });

  it('a very large file starts near its end at a line boundary, and says how much was skipped', async () => {
    const line = 'x'.repeat(99) + '\n';
    fs.writeFileSync(file, line.repeat(1000)); // 100,000 bytes
    const t = new FileTail(file, { maxInitialBytes: 10_050 });
    const r = (await t.read())!;
    assert.ok(r.reset);
    assert.equal(r.skippedBytes, 90_000, 'skips whole lines only');
    assert.equal(r.lines.length, 100);
    assert.ok(r.lines.every((l) => l.length === 99));
  });

  it('a runaway line without a newline is delivered in pieces rather than held forever', async () => {
    fs.writeFileSync(file, 'y'.repeat(5000));
    const t = new FileTail(file, { maxLineBytes: 1000 });
    const r = await drain(t);
    assert.equal(r.lines.length, 4);
    assert.ok(r.lines.every((l) => l.length === 1000));
    assert.equal(r.partial.length, 1000);
  });
});

describe('job panel: log store, search and windowing', () => {
  const batch = (lines: string[], partial = '', generation = 1, reset = false) => ({ generation, reset, lines, partial });

  it('the store appends batches, starts over on a new generation, and drops the oldest lines over its cap', () => {
    const s = new LogStore(5);
    s.apply(batch(['a', 'b'], 'c', 1, true));
    assert.equal(s.size, 2);
    assert.equal(s.rowCount, 3);
    assert.equal(s.row(2), 'c');
    s.apply(batch(['cd', 'e', 'f', 'g', 'h']));
    assert.equal(s.size, 5);
    assert.equal(s.droppedLines, 2);
    assert.equal(s.row(0), 'cd');
    assert.equal(s.absolute(0), 2);
    assert.equal(s.rowOf(2), 0);
    assert.equal(s.rowOf(1), -1);
    assert.equal(s.text(0, 1), 'cd\ne');
    s.apply(batch(['new'], '', 2, true));
    assert.equal(s.size, 1);
    assert.equal(s.droppedLines, 0);
    assert.equal(s.apply(batch(['late line of generation 1'], '', 1)).ignored, true, 'an older generation is ignored');
    assert.equal(s.size, 1);
  });

  it('findInLine finds every occurrence, case-insensitively by default', () => {
    assert.deepEqual(findInLine('Loss loss LOSS', 'loss', false).map((m) => m.start), [0, 5, 10]);
    assert.deepEqual(findInLine('Loss loss LOSS', 'loss', true).map((m) => m.start), [5]);
    assert.deepEqual(findInLine('aaaa', 'aa', false).map((m) => m.start), [0, 2]);
    assert.deepEqual(findInLine('abc', '', false), []);
  });

  it('search results stay the same whether lines arrive at once or in batches (incremental extend)', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `EPOCH ${i} train loss -9${i}` : `epoch 1 step ${i} loss -${i}`));
    const whole = new LogStore();
    whole.apply(batch(lines, '', 1, true));
    const a = new LogSearch();
    a.set(whole, 'EPOCH', true);
    const inc = new LogStore();
    const b = new LogSearch();
    inc.apply(batch([], '', 1, true));
    b.set(inc, 'EPOCH', true);
    for (let i = 0; i < lines.length; i += 250) {
      inc.apply(batch(lines.slice(i, i + 250)));
      b.extend(inc);
    }
    assert.equal(a.matches.length, Math.ceil(3000 / 7));
    assert.deepEqual(b.matches, a.matches);
  });

  it('matches on the partial last line are replaced when it grows, not duplicated', () => {
    const s = new LogStore();
    const q = new LogSearch();
    s.apply(batch(['x loss'], 'loss so', 1, true));
    q.set(s, 'loss', false);
    assert.equal(q.matches.length, 2);
    s.apply(batch([], 'loss so far loss'));
    q.extend(s);
    assert.equal(q.matches.length, 3);
    s.apply(batch(['loss so far loss', 'no'], ''));
    q.extend(s);
    assert.equal(q.matches.length, 3);
    assert.deepEqual(q.matches.map((m) => m.line), [0, 1, 1]);
  });

  it('next/previous wrap around; onLine finds a row\'s matches; dropped lines lose their matches', () => {
    const s = new LogStore(4);
    const q = new LogSearch();
    s.apply(batch(['hit', 'miss', 'hit hit', 'miss'], '', 1, true));
    q.set(s, 'hit', false);
    assert.equal(q.current, 0);
    assert.equal(q.step(1)!.line, 2);
    assert.equal(q.step(1)!.start, 4);
    assert.equal(q.step(1)!.line, 0, 'wraps to the first');
    assert.equal(q.step(-1)!.line, 2, 'and back to the last');
    assert.deepEqual(q.onLine(2).map((x) => x.index), [1, 2]);
    s.apply(batch(['tail', 'tail']));
    q.extend(s);
    assert.deepEqual(q.matches.map((m) => m.line), [2, 2], 'line 0 was dropped');
    assert.ok(q.current >= 0 && q.current < 2);
  });

  it('a new generation clears the search results; an empty query finds nothing', () => {
    const s = new LogStore();
    const q = new LogSearch();
    s.apply(batch(['a b a'], '', 1, true));
    q.set(s, 'a', false);
    assert.equal(q.matches.length, 2);
    s.apply(batch(['b'], '', 2, true));
    q.extend(s);
    assert.equal(q.matches.length, 0);
    q.set(s, '', false);
    assert.equal(q.step(1), undefined);
  });

  it('windowing: the rows in view plus overscan, clamped; scrollToShow and atBottom', () => {
    assert.deepEqual(visibleRange({ scrollTop: 0, viewportHeight: 180, rowHeight: 18, rowCount: 100_000, overscan: 5 }), { first: 0, last: 15 });
    assert.deepEqual(visibleRange({ scrollTop: 18 * 50_000, viewportHeight: 180, rowHeight: 18, rowCount: 100_000, overscan: 5 }), { first: 49_995, last: 50_015 });
    assert.deepEqual(visibleRange({ scrollTop: 18 * 100_000, viewportHeight: 180, rowHeight: 18, rowCount: 100_000, overscan: 5 }).last, 99_999);
    assert.deepEqual(visibleRange({ scrollTop: 0, viewportHeight: 180, rowHeight: 18, rowCount: 0 }), { first: 0, last: -1 });
    assert.equal(scrollToShow(5, 0, 180, 18), 0, 'visible: unchanged');
    assert.equal(scrollToShow(500, 0, 180, 18), 500 * 18 - 60);
    assert.equal(scrollToShow(0, 900, 180, 18), 0);
    assert.ok(atBottom(820, 180, 1000));
    assert.ok(!atBottom(700, 180, 1000));
  });

  it('log lines are classified for colouring', () => {
    assert.equal(lineKind('[t] FAILED dose_1000/baseline/gs1: boom'), 'error');
    assert.equal(lineKind('[t] WARN: could not update'), 'warn');
    assert.equal(lineKind('[t] EPOCH 1/2  train loss -2.8'), 'milestone');
    assert.equal(lineKind('[t] epoch 1/2 step 3/8  loss -3.1'), 'plain');
  });
});

function ev(e: Partial<RunEvent> & { type: RunEvent['type'] }): RunEvent {
  return { time: '2026-01-01T00:00:00.000Z', jobId: 'dose_1000/baseline/gs1', ...e } as RunEvent;
}

function runEvents(epochs: number, opts: { resumedFrom?: { epoch: number; step: number }; from?: number; lrReduceAt?: number } = {}): RunEvent[] {
  const out: RunEvent[] = [ev({
    type: 'started', pid: 1, executionProviderRequested: 'auto', executionProviderUsed: 'cpu', epochs, stepsPerEpoch: 4, batchSize: 8, parameters: 10,
    trainGroups: 32, validationGroups: 2, testGroups: 10, ...(opts.resumedFrom ? { resumedFrom: opts.resumedFrom } : {}),
  })];
  for (let e = opts.from ?? 1; e <= epochs; e++) {
    for (let s = 1; s <= 4; s++) out.push(ev({ type: 'progress', epoch: e, epochs, step: (e - 1) * 4 + s, stepInEpoch: s, stepsPerEpoch: 4, loss: -90 - e - s / 10, imagesPerSec: 20, etaSeconds: 1 }));
    out.push(ev({ type: 'epoch', epoch: e, epochs, trainLoss: -90 - e, valLoss: -89 - e, lr: opts.lrReduceAt !== undefined && e >= opts.lrReduceAt ? 5e-4 : 1e-3, lrReduced: e === opts.lrReduceAt, seconds: 2 }));
  }
  out.push(ev({ type: 'finished', status: 'succeeded', epochs, finalLoss: -90 - epochs, bestValLoss: -89 - epochs, stopReason: 'completed', seconds: 9 }));
  return out;
}

describe('job panel: loss chart data from events.jsonl', () => {
  it('parses the worker\'s events (a torn last line is skipped) into epoch points and per-step losses', () => {
    const text = runEvents(3, { lrReduceAt: 2 }).map((e) => JSON.stringify(e)).join('\n') + '\n{"time":"2026-01-01T00:00:0';
    const events = toTrainEvents(parseEvents(text));
    const m = new ChartModel();
    m.add(events);
    assert.deepEqual(m.epochs.map((p) => p.epoch), [1, 2, 3]);
    assert.deepEqual(m.epochs.map((p) => p.trainLoss), [-91, -92, -93]);
    assert.equal(m.steps.length, 12);
    assert.equal(m.steps[0].x, 0.25);
    assert.equal(m.steps[11].x, 3);
    assert.equal(m.status, 'succeeded');
    assert.equal(m.plannedEpochs, 3);
    assert.deepEqual(m.lrMarks.map((p) => p.epoch), [2]);
    assert.equal(nearestEpoch(m, 2.4)?.epoch, 2);
  });

  it('incremental batches give the same chart as one batch', () => {
    const events = toTrainEvents(runEvents(4));
    const a = new ChartModel();
    a.add(events);
    const b = new ChartModel();
    for (let i = 0; i < events.length; i += 3) b.add(events.slice(i, i + 3));
    assert.deepEqual(b.epochs, a.epochs);
    assert.deepEqual(b.steps, a.steps);
  });

  it('a new run (started without resumedFrom) starts the chart over', () => {
    const m = new ChartModel();
    m.add(toTrainEvents([...runEvents(3), ...runEvents(2)]));
    assert.deepEqual(m.epochs.map((p) => p.epoch), [1, 2]);
    assert.equal(m.runs, 2);
  });

  it('a resumed run keeps the epochs up to its checkpoint and drops what came after it', () => {
    // Cancelled during epoch 3 (after 2 epochs + 1 step); the resume repeats from there.
    const first = runEvents(3).filter((e) => e.type !== 'finished');
    const cancelled = first.filter((e) => !(e.type === 'epoch' && e.epoch === 3) && !(e.type === 'progress' && e.epoch === 3 && e.stepInEpoch > 1));
    const resumed = runEvents(4, { resumedFrom: { epoch: 2, step: 1 }, from: 3 });
    const m = new ChartModel();
    m.add(toTrainEvents([...cancelled, ev({ type: 'cancelled', epoch: 2, stepInEpoch: 1, step: 9 }), ...resumed]));
    assert.deepEqual(m.epochs.map((p) => p.epoch), [1, 2, 3, 4]);
    assert.deepEqual(m.resumedAt, [2.25]);
    const xs = m.steps.map((s) => s.x);
    assert.deepEqual(xs, [...xs].sort((p, q) => p - q), 'per-step x increasing');
    assert.equal(new Set(xs).size, xs.length, 'no duplicate steps');
    assert.equal(m.status, 'succeeded');
  });

  it('linear axis: padded range and a note that the NLL can be negative', () => {
    const a = yAxis([-91, -90, -85], 'linear');
    assert.ok(a.lo < -91 && a.hi > -85);
    assert.equal(a.map(-90), -90);
    assert.match(a.note, /negative/);
  });

  it('log axis of a negative loss shows loss − min + ε (1 % of the range), and maps back', () => {
    const a = yAxis([-91, -90, -81], 'log');
    assert.equal(a.mode, 'log');
    assert.ok(Math.abs(a.shift - (-91 - 0.1)) < 1e-9, `shift ${a.shift}`);
    assert.ok(Math.abs(a.map(-91) - Math.log10(0.1)) < 1e-9, 'the minimum sits at log10(ε)');
    assert.ok(Math.abs(a.map(-81) - Math.log10(10.1)) < 1e-9);
    assert.ok(Math.abs(a.unmap(a.map(-85)) - -85) < 1e-9);
    assert.match(a.label, /loss − min/);
    assert.match(a.note, /min = −91/);
    for (const t of logTicks(a.lo, a.hi)) assert.ok(t >= a.lo - 1e-9 && t <= a.hi + 1e-9);
  });

  it('log axis of a positive loss is a plain log axis; a flat or empty series still gets a range', () => {
    const narrow = yAxis([0.233, 0.347], 'log');
    const ticks = logTicks(narrow.lo, narrow.hi);
    assert.ok(ticks.length >= 2, `ticks on a narrow log range: ${ticks.map((t) => 10 ** t)}`);
    const a = yAxis([0.1, 1, 10], 'log');
    assert.equal(a.shift, 0);
    assert.equal(a.map(10), 1);
    assert.ok(a.lo < -1 && a.hi > 1);
    const flat = yAxis([-5, -5], 'log');
    assert.ok(flat.hi > flat.lo);
    const none = yAxis([], 'linear');
    assert.ok(none.hi > none.lo);
  });

  it('shownValues holds train, validation and optionally the per-step losses', () => {
    const m = new ChartModel();
    m.add(toTrainEvents(runEvents(2)));
    assert.equal(shownValues(m, false).length, 4);
    assert.equal(shownValues(m, true).length, 4 + 8);
  });

  it('events with non-finite numbers (NaN written as null) are dropped, not plotted', () => {
    const bad: TrainEvent[] = toTrainEvents(parseEvents([
      JSON.stringify(ev({ type: 'epoch', epoch: 1, epochs: 2, trainLoss: null as unknown as number, valLoss: null, lr: 1e-3, lrReduced: false, seconds: 1 })),
      JSON.stringify(ev({ type: 'progress', epoch: 1, epochs: 2, step: 1, stepInEpoch: 1, stepsPerEpoch: 4, loss: null as unknown as number, imagesPerSec: 1, etaSeconds: 1 })),
      JSON.stringify(ev({ type: 'epoch', epoch: 2, epochs: 2, trainLoss: -3, valLoss: null, lr: 1e-3, lrReduced: false, seconds: 1 })),
    ].join('\n')));
    assert.deepEqual(bad.map((e) => e.type), ['epoch']);
  });

  it('the train.log lines of these events classify as milestones where they should', () => {
    const lines = runEvents(1).map((e) => describeEvent(e));
    assert.equal(lineKind(lines[0]), 'milestone');
    assert.equal(lineKind(lines[1]), 'plain');
  });
});

/** A `quality` event after epoch e, as the worker writes it (its fields from core/run/events' QualityEvent). */
function qualityEvent(e: number, over: Record<string, unknown> = {}): RunEvent {
  return ev({
    type: 'quality', epoch: e, amplitude: { pearson: 0.5 + e / 10, ssim: 0.3 + e / 10 }, phase: { pearson: 0.2 + e / 10, ssim: 0.1 + e / 10 },
    region: { x0: 100, y0: 80, width: 96, height: 96 }, groups: 64, seconds: 0.4, ...over,
  } as Partial<RunEvent> & { type: 'quality' });
}

/** runEvents with a quality event after each epoch event (or after those `keep` allows). */
function withQuality(events: RunEvent[], keep: (epoch: number) => boolean = () => true): RunEvent[] {
  return events.flatMap((e) => (e.type === 'epoch' && keep(e.epoch) ? [e, qualityEvent(e.epoch)] : [e]));
}

describe('job panel: quality chart data from events.jsonl', () => {
  it('quality events pass the host\'s check and reach the model as one point per epoch, with only the protocol\'s fields', () => {
    const text = withQuality(runEvents(3)).map((e) => JSON.stringify(e)).join('\n');
    const events = toTrainEvents(parseEvents(text));
    const q = events.filter((e) => e.type === 'quality');
    assert.equal(q.length, 3);
    assert.deepEqual(Object.keys(q[0]).sort(), ['amplitude', 'epoch', 'groups', 'phase', 'region', 'seconds', 'time', 'type']);
    const m = new ChartModel();
    m.add(events);
    assert.deepEqual(m.quality.map((p) => p.epoch), [1, 2, 3]);
    assert.equal(m.quality[2].amplitude.pearson, 0.8);
    assert.deepEqual(m.quality[0].region, { x0: 100, y0: 80, width: 96, height: 96 });
    // The loss chart is unchanged by them.
    assert.deepEqual(m.epochs.map((p) => p.epoch), [1, 2, 3]);
    assert.equal(nearestQuality(m.quality, 2.4)?.epoch, 2);
  });

  it('a null measurement stays null (a gap in its line); malformed quality events are dropped, not plotted', () => {
    assert.equal(qualityEventCheck(qualityEvent(1)), undefined);
    const lines = [
      qualityEvent(1, { phase: { pearson: null, ssim: null } }),
      qualityEvent(2, { amplitude: { pearson: '0.9', ssim: 0.5 } }),
      qualityEvent(3, { region: { x0: 1, y0: 2, width: 0, height: 96 } }),
      qualityEvent(4, { groups: undefined }),
      qualityEvent(5, { epoch: 5.5 }),
      qualityEvent(6, { seconds: -1 }),
      qualityEvent(7),
    ].map((e) => JSON.stringify(e));
    assert.match(qualityEventCheck(JSON.parse(lines[1])) ?? '', /amplitude\.pearson must be a number/);
    assert.match(qualityEventCheck(JSON.parse(lines[2])) ?? '', /region\.width must be ≥ 1/);
    const events = toTrainEvents(parseEvents(lines.join('\n')));
    assert.deepEqual(events.map((e) => e.type === 'quality' && e.epoch), [1, 7]);
    const m = new ChartModel();
    m.add(events);
    const series = qualitySeries(m.quality);
    assert.deepEqual(series.map((s) => s.label), ['amplitude Pearson r', 'amplitude SSIM', 'phase Pearson r', 'phase SSIM']);
    assert.deepEqual(series[0].x, [1, 7]);
    assert.ok(Number.isNaN(series[2].y[0]) && Number.isNaN(series[3].y[0]), 'null phase → NaN (no point)');
    assert.equal(series[2].y[1], 0.2 + 0.7);
    assert.match(describeQuality(m.quality[0]), /^epoch 1 · amplitude r 0\.600, SSIM 0\.400 · phase r —, SSIM — · 0\.40 s$/);
  });

  it('a new run starts the quality over; a resumed run drops what came after its checkpoint and replaces a repeated epoch', () => {
    const m = new ChartModel();
    m.add(toTrainEvents([...withQuality(runEvents(3)), ...withQuality(runEvents(2))]));
    assert.deepEqual(m.quality.map((p) => p.epoch), [1, 2]);
    const first = withQuality(runEvents(3)).filter((e) => e.type !== 'finished' && !((e.type === 'epoch' || e.type === 'quality') && e.epoch === 3));
    const resumed = withQuality(runEvents(4, { resumedFrom: { epoch: 2, step: 0 }, from: 2 })).map((e) => (e.type === 'quality' && e.epoch === 2 ? { ...e, seconds: 0.9 } : e));
    const r = new ChartModel();
    r.add(toTrainEvents([...first, qualityEvent(3), ...resumed])); // epoch 3's quality came after the checkpoint
    assert.deepEqual(r.quality.map((p) => p.epoch), [1, 2, 3, 4]);
    assert.equal(r.quality[1].seconds, 0.9, 'the repeated epoch 2 is the resumed run\'s');
  });

  it('y range −0.2…1, lowered in 0.2 steps for a value below; x range is the loss chart\'s (0 to the epochs planned)', () => {
    const m = new ChartModel();
    m.add(toTrainEvents(withQuality(runEvents(3)).filter((e) => e.type !== 'finished' && !(e.type === 'epoch' && e.epoch > 1) && !(e.type === 'quality' && e.epoch > 1))));
    assert.deepEqual(qualityYRange(m.quality), { lo: -0.2, hi: 1 });
    assert.deepEqual(qualityXRange(m), { lo: 0, hi: 3 });
    m.add(toTrainEvents([qualityEvent(2, { phase: { pearson: -0.45, ssim: 0.1 } })]));
    assert.deepEqual(qualityYRange(m.quality), { lo: -0.6, hi: 1 });
    assert.deepEqual(qualityYRange([]), { lo: -0.2, hi: 1 });
  });

  it('the caption names the window, the groups, the test split and how many epochs were measured', () => {
    const m = new ChartModel();
    m.add(toTrainEvents(withQuality(runEvents(4), (e) => e % 2 === 1)));
    const c = qualityCaption(m);
    assert.match(c, /96×96 px at \(100, 80\)/);
    assert.match(c, /64 groups/);
    assert.match(c, /test split/);
    assert.match(c, /after 2 of 4 epochs \(some are skipped/);
    assert.match(c, /0\.40 s each/);
    assert.equal(qualityEmptyText(m), '');
  });

  it('without quality events the chart says why in one line (no training, waiting for an epoch, no ground truth or an older run)', () => {
    const m = new ChartModel();
    assert.match(qualityEmptyText(m), /^No training yet/);
    m.add(toTrainEvents(runEvents(2).slice(0, 2)));
    assert.match(qualityEmptyText(m), /^Waiting for the first epoch/);
    m.add(toTrainEvents(runEvents(2).slice(2)));
    const text = qualityEmptyText(m);
    assert.match(text, /no ground truth \(objectGuess\)/);
    assert.ok(!text.includes('\n'));
    assert.equal(qualityCaption(m), '');
  });
});

describe('job panel: actions enabled per state', () => {
  const ctx = (over: Partial<{ trusted: boolean; checkpoint: boolean; reconstruction: boolean; manifest: boolean; log: boolean }> = {}) => ({
    display: (p: string) => p, trusted: over.trusted ?? true,
    has: { checkpoint: over.checkpoint ?? false, reconstruction: over.reconstruction ?? false, manifest: over.manifest ?? false, log: over.log ?? false },
  });
  const enabled = (a: ReturnType<typeof jobActions>) => Object.entries(a).filter(([, v]) => v.enabled).map(([k]) => k).sort();

  it('ready: dry run, train, open folder', () => {
    assert.deepEqual(enabled(jobActions('ready', false, ctx())), ['dryRun', 'revealArtifacts', 'train']);
  });
  it('running in this window: cancel only (and the folder, log, manifest)', () => {
    assert.deepEqual(enabled(jobActions('running', true, ctx({ log: true, manifest: true }))), ['cancel', 'openLogFile', 'revealArtifacts', 'showManifest']);
  });
  it('running in another process: nothing that would start or stop it', () => {
    const a = jobActions('running', false, ctx());
    assert.deepEqual(enabled(a), ['revealArtifacts']);
    assert.match(a.train.why!, /another process/);
  });
  it('cancelled with a checkpoint: resume; without one: no resume, and why', () => {
    assert.ok(jobActions('cancelled', false, ctx({ checkpoint: true })).resume.enabled);
    const no = jobActions('cancelled', false, ctx());
    assert.equal(no.resume.enabled, false);
    assert.match(no.resume.why!, /checkpoint/);
  });
  it('succeeded: train again, dry run, show reconstruction and manifest', () => {
    assert.deepEqual(enabled(jobActions('succeeded', false, ctx({ reconstruction: true, manifest: true, log: true }))),
      ['dryRun', 'openLogFile', 'revealArtifacts', 'showManifest', 'showReconstruction', 'train']);
  });
  it('missing or invalid data: no training; Restricted Mode: nothing that writes', () => {
    assert.deepEqual(enabled(jobActions('missing', false, ctx())), ['revealArtifacts']);
    assert.deepEqual(enabled(jobActions('invalid', false, ctx())), ['dryRun', 'revealArtifacts']);
    const r = jobActions('ready', false, ctx({ trusted: false }));
    assert.deepEqual(enabled(r), ['revealArtifacts']);
    assert.match(r.train.why!, /trusted/);
  });
});

describe('job panel: a Phase F reconstruction job', () => {
  const t = '2026-01-01T00:00:00.000Z';
  it('its events chart as iterations: the relative error per iteration, Pearson r per iteration, the end; torn lines dropped', () => {
    const lines = [
      { type: 'recon-started', time: t, jobId: 'j', pid: 1, algorithm: 'epie', probeMode: 'fixed', iterations: 3, patterns: 10, n: 64, object: { width: 9, height: 9 }, executionProviderRequested: 'cpu', executionProviderUsed: 'cpu' },
      { type: 'iteration', time: t, jobId: 'j', iteration: 1, iterations: 3, mse: 1, relativeError: 0.5, probeUpdated: false, seconds: 0.1, updatesPerSec: 100, etaSeconds: 1, quality: { amplitude: 0.3, phase: 0.2, pixels: 50 } },
      { type: 'iteration', time: t, jobId: 'j', iteration: 2, iterations: 3, mse: 1, relativeError: 0.25, probeUpdated: false, seconds: 0.1, updatesPerSec: 100, etaSeconds: 1, quality: null },
      { type: 'iteration', time: t, jobId: 'j', iteration: 3, iterations: 3, relativeError: 'torn' },
      { type: 'recon-finished', time: t, jobId: 'j', status: 'succeeded', iterations: 3 },
    ].map((e) => JSON.stringify(e)).join('\n');
    const events = toReconEvents(parseEvents(lines));
    assert.deepEqual(events.map((e) => e.type), ['started', 'epoch', 'quality', 'epoch', 'end']);
    const m = new ChartModel();
    m.add(events);
    assert.equal(m.plannedEpochs, 3);
    assert.deepEqual(m.epochs.map((p) => [p.epoch, p.trainLoss, p.valLoss]), [[1, 0.5, null], [2, 0.25, null]]);
    assert.equal(m.lrMarks.length, 0, 'no learning rate in an iterative reconstruction');
    assert.equal(m.quality.length, 1);
    assert.match(describeQuality(m.quality[0]), /^iteration 1 · amplitude r 0\.300 · phase r 0\.200$/);
    assert.match(qualityCaption(m), /^After each of 1 iteration: Pearson r/);
    assert.equal(m.status, 'succeeded');
  });

  it('its panel state: Reconstruct (no dry run), iterations and relative error in the summary, recon.log', () => {
    const job = {
      kind: 'reconstruct', id: 'dose_1000/dense/test/epie', dose: 1000, view: 'dense', gridsize: 2, split: 'test', algorithm: 'epie',
      data: { split: 'test', path: '/s/phase_d/dose_1000/dense/dense_test.npz', exists: true, info: { patternCount: 40, n: 64 } },
      phaseFRoot: '/s/phase_f', artifactDir: '/s/phase_f/dose_1000/dense/test/epie', logPath: '/s/phase_f/dose_1000/dense/test/epie/recon.log',
      state: 'succeeded', findings: [],
      run: { status: 'succeeded', manifestPath: 'm', manifest: { result: { iterations: 50, relativeError: 0.12, mse: 1, stopReason: 'done', history: [], metrics: { amplitude: { pearson: 0.98 }, phase: { pearson: 0.75 } } }, runtime: { executionProviderUsed: 'cpu' } } },
    } as unknown as ReconstructionJob;
    const st = buildReconState(job, undefined, { display: (p) => p, trusted: true, has: { checkpoint: true, reconstruction: true, manifest: true, log: true } });
    assert.equal(st.kind, 'reconstruct');
    assert.equal(st.algorithm, 'epie');
    assert.equal(st.actions.dryRun.enabled, false);
    assert.match(st.actions.dryRun.why ?? '', /no dry run/);
    assert.equal(st.actions.train.enabled, true);
    assert.equal(st.actions.showReconstruction.enabled, true);
    assert.deepEqual([st.run?.epochs, st.run?.finalLoss, st.run?.metrics?.amplitude?.pearson], [50, 0.12, 0.98]);
    assert.deepEqual(st.datasets.map((d) => [d.fileName, d.patterns]), [['dense_test.npz', 40]]);
    const live = buildReconState({ ...job, state: 'running' } as ReconstructionJob, { state: 'running', progress: { iteration: 7, iterations: 50, relativeError: 0.3, updatesPerSec: 900, etaSeconds: 4 } }, { display: (p) => p, trusted: true, has: { checkpoint: false, reconstruction: false, manifest: true, log: true } });
    assert.deepEqual(live.progress, { epoch: 7, epochs: 50, stepInEpoch: 1, stepsPerEpoch: 1, loss: 0.3, imagesPerSec: 900, etaSeconds: 4 });
    assert.equal(live.actions.cancel.enabled, true);
    assert.equal(live.actions.train.enabled, false);
    // The half sets after the run's own iterations: their stage named beside their count.
    const halves = buildReconState({ ...job, state: 'running' } as ReconstructionJob, { state: 'running', progress: { stage: 'half set 2/2 (20 odd patterns)', iteration: 3, iterations: 50, etaSeconds: 9 } }, { display: (p) => p, trusted: true, has: { checkpoint: true, reconstruction: false, manifest: true, log: true } });
    assert.deepEqual(halves.progress, { epoch: 3, epochs: 50, stepInEpoch: 1, stepsPerEpoch: 1, stage: 'half set 2/2 (20 odd patterns)', etaSeconds: 9 });
  });
});

describe('job panel: loss smoothing and CSV', () => {
  it('emaSmooth is TensorBoard\'s debiased EMA: 0 returns the values, a constant stays constant, noise shrinks', () => {
    assert.deepEqual(emaSmooth([3, 1, 2], 0), [3, 1, 2]);
    assert.deepEqual(emaSmooth([5, 5, 5, 5], 0.9).map((v) => +v.toFixed(12)), [5, 5, 5, 5], 'debiased: no pull towards 0');
    const noisy = Array.from({ length: 400 }, (_, i) => 1 + (i % 2 ? 0.5 : -0.5));
    const sm = emaSmooth(noisy, 0.9);
    const spread = (a: number[]): number => Math.max(...a.slice(200)) - Math.min(...a.slice(200));
    assert.ok(spread(sm) < 0.15 * spread(noisy), `${spread(sm)} vs ${spread(noisy)}`);
    assert.ok(Number.isNaN(emaSmooth([1, NaN, 1], 0.5)[1]), 'a missing value stays missing');
  });

  it('chartCsv writes a row per step (with the smoothed loss) and per epoch', () => {
    const m = new ChartModel();
    m.add([
      { type: 'started', time: 't', epochs: 2, stepsPerEpoch: 2 },
      { type: 'progress', time: 't', epoch: 1, epochs: 2, stepInEpoch: 1, stepsPerEpoch: 2, loss: -1, imagesPerSec: 1, etaSeconds: 1 },
      { type: 'progress', time: 't', epoch: 1, epochs: 2, stepInEpoch: 2, stepsPerEpoch: 2, loss: -3, imagesPerSec: 1, etaSeconds: 1 },
      { type: 'epoch', time: 't', epoch: 1, epochs: 2, trainLoss: -2, valLoss: -1.5, lr: 0.001, lrReduced: false, seconds: 4 },
    ] as TrainEvent[]);
    const csv = chartCsv(m, 0.5).trim().split('\n');
    assert.equal(csv[0], 'kind,epoch,loss,smoothed_loss,val_loss,lr,seconds');
    assert.equal(csv.length, 4);
    assert.match(csv[1], /^step,0\.5,-1,-1,,,$/);
    assert.match(csv[2], /^step,1,-3,-2\.33333/);
    assert.equal(csv[3], 'epoch,1,-2,,-1.5,0.001,4');
  });
});

describe('job panel: the Reconstruction section\'s model', () => {
  const img = (amp: number[], ph: number[], range: [number, number]): PreviewImage => ({
    width: amp.length, height: 1, amplitude: Uint8Array.from(amp), amplitudeRange: range, phase: Uint8Array.from(ph), covered: Uint8Array.from(amp.map(() => 1)),
  });
  it('differenceImage: a prediction equal to the truth up to a global phase and an amplitude scale differs by nothing', () => {
    const truth = img([0, 128, 255], [10, 100, 200], [0.5, 1]);
    const scaled = img([0, 128, 255], [40, 130, 230], [1, 2]); // amplitude ×2, phase + 30 steps
    const d = differenceImage(scaled, truth);
    assert.ok(d.phaseRms < 1e-6, `phase rms ${d.phaseRms}`);
    assert.ok(d.amplitudeSpan < 0.01, `amplitude span ${d.amplitudeSpan}`);
    const off = differenceImage(img([255, 128, 0], [10, 100, 200], [0.5, 1]), truth);
    assert.ok(off.amplitudeSpan > 0.2, 'a reversed amplitude differs');
  });
  it('stripEpochs keeps the first and the last, at most max, in order', () => {
    assert.deepEqual(stripEpochs([1, 2, 3]), [1, 2, 3]);
    const many = stripEpochs(Array.from({ length: 50 }, (_, i) => i + 1), 16);
    assert.equal(many.length, 16);
    assert.deepEqual([many[0], many.at(-1)], [1, 50]);
    assert.deepEqual(many, [...many].sort((a, b) => a - b));
  });
});
