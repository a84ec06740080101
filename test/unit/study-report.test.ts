// The study report end to end (issue 12, "The study report"): a small real study with a trained PINN job
// (baseline gs1, 1 epoch of the narrow network), an ePIE reconstruction of the same view (few iterations), jobs
// never run and a job whose data is missing; `ptycho-study report` (the real CLI) writes the folder: the CSV and
// the JSON files parse back and agree with every job's metrics.json, the PINN − iterative deltas have the right
// sign and winner (lower MAE is better), the figure PNG decodes, the SVG embeds its cells, the README names the
// absent jobs with why; --json / --csv print the files' content; an --out inside a job folder is refused.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { CSV_HEADER, DELTA_METRICS, REPORT_METRICS, collectStudyResults, type DeltaEntry } from '../../src/core/report';
import { tempDir } from './helpers/paths';
import { cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';

function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Checks the PNG's signature, decodes IHDR and inflates IDAT; returns its size. */
function decodePngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    const body = buf.subarray(off + 8, off + 8 + len);
    assert.equal(buf.readUInt32BE(off + 8 + len), zlib.crc32(body, zlib.crc32(buf.subarray(off + 4, off + 8))) >>> 0, `${type} CRC`);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[body[9]];
    }
    if (type === 'IDAT') idat.push(body);
    off += 12 + len;
  }
  assert.equal(zlib.inflateSync(Buffer.concat(idat)).length, height * (1 + width * channels), 'IDAT holds every scanline');
  return { width, height };
}

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

describe('study report (ptycho-study report)', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-report-');
  const root = tmp.dir;
  const out = path.join(root, 'report');
  const pinnDir = path.join(root, 'phase_e', DOSE, 'baseline', 'gs1');
  const epieDir = path.join(root, 'phase_f', DOSE, 'baseline', 'test', 'epie');
  let first: { code: number | null; out: string; err: string };

  before(async () => {
    await simulateSmallStudy(root);
    // The sparse view's training split is gone: its PINN job is missing, with the expected path.
    fs.rmSync(path.join(root, 'phase_d', DOSE, 'sparse', 'sparse_train.npz'));
    const t = cli(['train', '--workspace', root, '--view', 'baseline', ...QUICK_TRAIN]);
    assert.equal(t.code, 0, t.err + t.out);
    const r = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', '8']);
    assert.equal(r.code, 0, r.err + r.out);
    first = cli(['report', '--workspace', root, '--out', out]);
  });
  after(() => tmp.cleanup());

  it('writes the folder; the CSV parses back and agrees with every metrics.json', () => {
    assert.equal(first.code, 0, first.err + first.out);
    for (const f of ['comparison_metrics.csv', 'metrics_summary.json', 'metrics_delta_summary.json', 'comparison_figure.png', 'comparison_figure.svg', 'README.md']) {
      assert.ok(fs.statSync(path.join(out, f)).size > 0, f);
    }
    const rows = parseCsv(fs.readFileSync(path.join(out, 'comparison_metrics.csv'), 'utf8'));
    assert.deepEqual(rows[0], [...CSV_HEADER]);
    const body = rows.slice(1);
    const expected: [string, string, Record<string, unknown>][] = [['pinn', 'baseline', readJson(path.join(pinnDir, 'metrics.json'))], ['epie', 'baseline', readJson(path.join(epieDir, 'metrics.json'))]];
    let checked = 0;
    for (const [method, view, metrics] of expected) {
      for (const part of ['amplitude', 'phase']) {
        for (const [metric, key] of REPORT_METRICS) {
          const row = body.filter((r) => r[0] === '10000' && r[1] === view && r[2] === method && r[3] === 'test' && r[4] === part && r[5] === metric);
          assert.equal(row.length, 1, `${method} ${part} ${metric}`);
          assert.equal(Number(row[0][6]), (metrics[part] as Record<string, number>)[key], `${method} ${part} ${metric}`);
          checked++;
        }
      }
    }
    assert.equal(body.length, checked, 'only the two finished jobs have rows');
  });

  it('metrics_summary.json lists each job with its metrics and every absent job with why; aggregates count the jobs', () => {
    const s = readJson<{ jobs: { id: string; method: string; amplitude: Record<string, number>; phase: Record<string, number>; evaluation: { source: string } }[]; absent: { id: string; absentReason: string }[]; aggregates: { byMethod: Record<string, Record<string, Record<string, { n: number; mean: number }>>> } }>(path.join(out, 'metrics_summary.json'));
    assert.deepEqual(s.jobs.map((j) => j.id), ['dose_10000/baseline/gs1', 'dose_10000/baseline/test/epie']);
    const pinn = readJson<{ amplitude: Record<string, number>; phase: Record<string, number> }>(path.join(pinnDir, 'metrics.json'));
    assert.equal(s.jobs[0].amplitude.ms_ssim, pinn.amplitude.msSsim);
    assert.equal(s.jobs[0].phase.frc50, pinn.phase.frc50);
    assert.equal(s.jobs[0].evaluation.source, 'phase-c-test');
    assert.equal(s.aggregates.byMethod.epie.amplitude.ssim.n, 1);
    const absent = new Map(s.absent.map((a) => [a.id, a.absentReason]));
    assert.match(absent.get('dose_10000/sparse/gs2') ?? '', /data missing: .*sparse_train\.npz/);
    assert.match(absent.get('dose_10000/dense/gs2') ?? '', /never run/);
    assert.match(absent.get('dose_10000/baseline/test/rpie') ?? '', /never run/);
  });

  it('the deltas are PINN − iterative with the right winner (lower MAE is better)', () => {
    const d = readJson<{ deltas: DeltaEntry[] }>(path.join(out, 'metrics_delta_summary.json'));
    const pinn = readJson<Record<string, Record<string, number>>>(path.join(pinnDir, 'metrics.json'));
    const epie = readJson<Record<string, Record<string, number>>>(path.join(epieDir, 'metrics.json'));
    assert.equal(d.deltas.length, 2 * DELTA_METRICS.length, 'one dose × view with both: amplitude and phase × 5 metrics');
    for (const e of d.deltas) {
      const spec = DELTA_METRICS.find((m) => m.metric === e.metric)!;
      assert.equal(e.pinn, pinn[e.part][spec.key]);
      assert.equal(e.iterative, epie[e.part][spec.key]);
      assert.equal(e.delta, e.pinn! - e.iterative!);
      assert.equal(e.lowerIsBetter, e.metric === 'mae');
      const pinnBetter = e.metric === 'mae' ? e.pinn! < e.iterative! : e.pinn! > e.iterative!;
      assert.equal(e.better, e.pinn === e.iterative ? 'tie' : pinnBetter ? 'pinn' : 'iterative', `${e.part} ${e.metric}`);
    }
    // A 1-epoch PINN loses to ePIE on amplitude MAE here: the winner is the iterative one, with a positive delta.
    const mae = d.deltas.find((e) => e.part === 'amplitude' && e.metric === 'mae')!;
    assert.ok(mae.delta! > 0 && mae.better === 'iterative', JSON.stringify(mae));
  });

  it('the figure decodes (PNG) and embeds its cells (SVG); job PNGs and manifests are copied', () => {
    const { width, height } = decodePngSize(fs.readFileSync(path.join(out, 'comparison_figure.png')));
    assert.ok(width > 600 && height > 300, `${width}×${height}`);
    const svg = fs.readFileSync(path.join(out, 'comparison_figure.svg'), 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok((svg.match(/<image /g) ?? []).length >= 3 * 2 + 2, 'truth + pinn + epie cells per part, and two colorbars');
    for (const label of ['ground truth', 'PINN', 'epie', '1e4 baseline', 'never run']) assert.ok(svg.includes(`>${label}<`), label);
    for (const [id, dir] of [['dose_10000/baseline/gs1', pinnDir], ['dose_10000/baseline/test/epie', epieDir]]) {
      for (const f of ['manifest.json', 'amplitude.png', 'phase.png']) {
        assert.deepEqual(fs.readFileSync(path.join(out, 'jobs', ...id.split('/'), f)), fs.readFileSync(path.join(dir, f)), `${id}/${f}`);
      }
    }
  });

  it('README.md says what was compared, the software, the regenerating commands and what is absent and why', () => {
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(readme, /## What was compared/);
    assert.match(readme, /common evaluation/);
    assert.match(readme, /- onnxruntime \(from the job manifests\): \d+\.\d+/);
    assert.ok(readme.includes(`ptycho-study rerun ${path.join(pinnDir, 'manifest.json')}`));
    assert.match(readme, /ptycho-study train --no-workspace-settings .*--dose 10000 --view baseline --gridsize 1 --epochs 1 .*--n-filters-scale 1 .*--threads 1 --restart/);
    assert.match(readme, /ptycho-study reconstruct .*--split test --algorithm epie --iterations 8/);
    assert.match(readme, /- `dose_10000\/sparse\/gs2` \(training, missing\): data missing: .*sparse_train\.npz/);
    assert.match(readme, /`dose_10000\/dense\/gs2` \(training, ready\): never run/);
    assert.match(readme, /\| 1e4 \| baseline \| epie \| amplitude \| mae \|/);
  });

  it('--json and --csv print the same content as the files', () => {
    const j = cli(['report', '--workspace', root, '--out', out, '--json']);
    assert.equal(j.code, 0, j.err);
    const printed = JSON.parse(j.out) as { report: string; summary: unknown; deltas: unknown };
    assert.equal(printed.report, out);
    assert.deepEqual(printed.summary, readJson(path.join(out, 'metrics_summary.json')));
    assert.deepEqual(printed.deltas, readJson(path.join(out, 'metrics_delta_summary.json')));
    const c = cli(['report', '--workspace', root, '--out', out, '--csv']);
    assert.equal(c.code, 0, c.err);
    assert.equal(c.out, fs.readFileSync(path.join(out, 'comparison_metrics.csv'), 'utf8'));
  });

  it('refuses an --out inside a job folder, writing nothing; collectStudyResults sees the same jobs', async () => {
    const inside = path.join(pinnDir, 'report');
    const r = cli(['report', '--workspace', root, '--out', inside]);
    assert.equal(r.code, 1);
    assert.match(r.err, /inside the artifact folder of job dose_10000\/baseline\/gs1/);
    assert.ok(!fs.existsSync(inside));
    const results = await collectStudyResults({ phaseCRoot: path.join(root, 'phase_c'), phaseDRoot: path.join(root, 'phase_d'), artifactRoot: path.join(root, 'phase_e') });
    assert.deepEqual(results.jobs.filter((x) => x.metrics).map((x) => x.id), ['dose_10000/baseline/gs1', 'dose_10000/baseline/test/epie']);
  });
});
