// Export for Ptychodus (core/export/ptychodus.ts, `ptycho-study export-ptychodus`): a trained job and a Phase F job of a
// small simulated study, run through the real CLI, are exported as Ptychodus NPZ products and read back with the
// project's NPZ reader by the key names of Ptychodus's reader (src/ptychodus/plugins/npz_product_file.py): dtypes and
// shapes as numpy.savez writes them, the object exactly reconstruction.npz's, the probe (the dataset's probeGuess /
// the Phase F probe), positions in metres = object pixels × pixel size (assumed, and said so, when the data record
// none; from _metadata when they do), the centre that keeps them on the same pixels, the run's losses; and the
// refusals: a job never trained, an --out that is a folder, a symlink or a FIFO.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assumedPixelSizeM, exportPtychodusProduct, PtychodusExportError, type PtychodusExportResult } from '../../src/core/export/ptychodus';
import { openNpz, scalarString, writeNpz, type NdArray } from '../../src/core/npy';
import { parseEvents, type EpochEvent, type IterationEvent } from '../../src/core/run/events';
import { tempDir } from './helpers/paths';
import { CLI, cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';
import { readAllArrays } from './helpers/npy';

/** Every key Ptychodus's NPZProductFileIO.write writes (no OPR weights), with the dtype numpy.savez gives it. */
const PTYCHODUS_KEYS: Record<string, string> = {
  name: '<U', comments: '<U', detector_object_distance_m: '<f8', probe_energy_eV: '<f8', probe_photon_count: '<f8',
  exposure_time_s: '<f8', mass_attenuation_m2_kg: '<f8', probe_position_indexes: '<i8', probe_position_x_m: '<f8',
  probe_position_y_m: '<f8', probe: '<c8', probe_pixel_width_m: '<f8', probe_pixel_height_m: '<f8', object: '<c8',
  object_center_x_m: '<f8', object_center_y_m: '<f8', object_pixel_width_m: '<f8', object_pixel_height_m: '<f8',
  object_layer_spacing_m: '<f8', loss_epochs: '<i8', loss_values: '<f8',
};


const scalar = (arr: NdArray): number => {
  assert.deepEqual(arr.shape, [], 'a 0-d array');
  return Number(arr.data[0]);
};
const bytesOf = (d: NdArray['data']): Buffer => Buffer.from((d as Float32Array).buffer, (d as Float32Array).byteOffset, (d as Float32Array).byteLength);

/** The product's keys, dtypes and shapes as Ptychodus writes them; returns the arrays. */
async function readProduct(file: string): Promise<Record<string, NdArray>> {
  const p = await readAllArrays(file);
  assert.deepEqual(Object.keys(p).sort(), Object.keys(PTYCHODUS_KEYS).sort(), 'exactly the keys of Ptychodus\'s writer');
  for (const [k, descr] of Object.entries(PTYCHODUS_KEYS)) {
    assert.ok(descr === '<U' ? p[k].dtype.name === 'U' : p[k].dtype.descr === descr, `${k}: ${p[k].dtype.descr}, want ${descr}`);
  }
  for (const k of ['name', 'comments', 'detector_object_distance_m', 'probe_energy_eV', 'probe_photon_count', 'exposure_time_s', 'mass_attenuation_m2_kg', 'probe_pixel_width_m', 'probe_pixel_height_m', 'object_center_x_m', 'object_center_y_m', 'object_pixel_width_m', 'object_pixel_height_m']) {
    assert.deepEqual(p[k].shape, [], `${k} is 0-d`);
  }
  const n = p.probe_position_indexes.shape[0];
  for (const k of ['probe_position_x_m', 'probe_position_y_m']) assert.deepEqual(p[k].shape, [n], k);
  assert.deepEqual([...(p.probe_position_indexes.data as BigInt64Array)], Array.from({ length: n }, (_, i) => BigInt(i)));
  assert.equal(p.probe.shape.length, 4, 'probe: (OPR modes, incoherent modes, H, W)');
  assert.deepEqual(p.probe.shape.slice(0, 2), [1, 1]);
  assert.equal(p.object.shape.length, 3, 'object: (layers, H, W)');
  assert.equal(p.object.shape[0], 1);
  assert.deepEqual(p.object_layer_spacing_m.shape, [0], 'one layer: no spacing');
  assert.deepEqual(p.loss_epochs.shape, p.loss_values.shape);
  assert.equal(scalar(p.probe_pixel_width_m), scalar(p.object_pixel_width_m), 'probe and object share the pixel grid');
  assert.equal(scalar(p.object_pixel_height_m), scalar(p.object_pixel_width_m));
  return p;
}

/** The product against the job's reconstruction.npz and the dataset it was made from. */
async function checkGeometry(p: Record<string, NdArray>, recFile: string, datasetFile: string, pixel: number): Promise<void> {
  const rec = await readAllArrays(recFile);
  const [h, w] = rec.object.shape;
  assert.deepEqual(p.object.shape, [1, h, w]);
  assert.ok(bytesOf(p.object.data).equals(bytesOf(rec.object.data)), 'the object is reconstruction.npz\'s, value for value');
  const ds = await openNpz(datasetFile);
  const xs = Float64Array.from((await ds.readArray('xcoords')).data as Float64Array);
  const ys = Float64Array.from((await ds.readArray('ycoords')).data as Float64Array);
  await ds.close();
  const xm = p.probe_position_x_m.data as Float64Array;
  const ym = p.probe_position_y_m.data as Float64Array;
  assert.equal(xm.length, xs.length, 'every scan position of the dataset');
  assert.equal(scalar(p.object_pixel_width_m), pixel);
  for (let i = 0; i < xs.length; i++) {
    assert.equal(xm[i], xs[i] * pixel, `x ${i} in metres`);
    assert.equal(ym[i], ys[i] * pixel, `y ${i} in metres`);
  }
  // Ptychodus maps metres to object pixels as (x_m − center_x_m) / dx + W / 2: the positions land on the exported
  // object's pixels (objectGuess pixels − origin).
  const [x0, y0] = [...(rec.origin.data as Int32Array)];
  const cx = scalar(p.object_center_x_m);
  const cy = scalar(p.object_center_y_m);
  for (let i = 0; i < xs.length; i++) {
    assert.ok(Math.abs((xm[i] - cx) / pixel + w / 2 - (xs[i] - x0)) < 1e-6, `position ${i} x on the object`);
    assert.ok(Math.abs((ym[i] - cy) / pixel + h / 2 - (ys[i] - y0)) < 1e-6, `position ${i} y on the object`);
  }
}

describe('Export for Ptychodus (ptycho-study export-ptychodus)', function () {
  this.timeout(180_000);
  const tmp = tempDir('ptycho-ptychodus-');
  const root = tmp.dir;
  const trainId = `${DOSE}/baseline/gs1`;
  const trainDir = path.join(root, 'phase_e', DOSE, 'baseline', 'gs1');
  const reconDir = path.join(root, 'phase_f', DOSE, 'baseline', 'test', 'epie');
  const phaseCTest = path.join(root, 'phase_c', DOSE, 'patched_test.npz');
  const TRAIN = QUICK_TRAIN.map((v, i, a) => (a[i - 1] === '--epochs' ? '2' : v));
  before(async () => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built (node esbuild.mjs)');
    await simulateSmallStudy(root, 96);
    const t = cli(['train', '--workspace', root, '--view', 'baseline', ...TRAIN, '--quiet']);
    assert.equal(t.code, 0, t.err + t.out);
    const r = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', '2', '--quiet']);
    assert.equal(r.code, 0, r.err + r.out);
  });
  after(() => tmp.cleanup());

  it('a trained job: by id, into its folder; the object, the dataset\'s probeGuess, positions in metres (pixel size assumed, and said), the loss per epoch', async () => {
    const r = cli(['export-ptychodus', trainId, '--workspace', root]);
    assert.equal(r.code, 0, r.err + r.out);
    const out = path.join(trainDir, 'ptychodus_product.npz');
    assert.match(r.out, new RegExp(`EXPORTED ${trainId}@\\S+ → ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.out, /pixel size 2\.5830e-8 m — ASSUMED/);
    assert.match(r.out, /note: The data record no object pixel size: 2\.5830e-8 m is ASSUMED/);
    assert.deepEqual(fs.readdirSync(trainDir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');

    const p = await readProduct(out);
    const pixel = assumedPixelSizeM(64);
    assert.ok(Math.abs(pixel - 2.583e-8) < 1e-11, `λz/(N·p) at 10 keV, 1 m, 75 µm, N 64: ${pixel}`);
    await checkGeometry(p, path.join(trainDir, 'reconstruction.npz'), phaseCTest, pixel);
    // The probe: the Phase C test split's probeGuess (the dataset the reconstruction was stitched from).
    const ds = await openNpz(phaseCTest);
    const probeGuess = await ds.readArray('probeGuess');
    await ds.close();
    assert.deepEqual(p.probe.shape, [1, 1, ...probeGuess.shape]);
    assert.ok(bytesOf(p.probe.data).equals(bytesOf(probeGuess.data)), 'probe = probeGuess');
    // Losses: this run's two epochs, 0-based as Ptychodus counts, the journal's train losses.
    const manifest = JSON.parse(fs.readFileSync(path.join(trainDir, 'manifest.json'), 'utf8')) as { runId: string; result: { epochs: number } };
    assert.equal(manifest.result.epochs, 2);
    const epochs = parseEvents(fs.readFileSync(path.join(trainDir, 'events.jsonl'), 'utf8')).filter((e): e is EpochEvent => e.type === 'epoch');
    assert.deepEqual([...(p.loss_epochs.data as BigInt64Array)], [0n, 1n]);
    assert.deepEqual([...(p.loss_values.data as Float64Array)], epochs.map((e) => e.trainLoss));
    // Metadata.
    assert.equal((p.name.data as string[])[0], `${trainId}@${manifest.runId}`);
    assert.match((p.comments.data as string[])[0], /PtychoPINN training job dose_10000\/baseline\/gs1[\s\S]*Object pixel size: 2\.583\d*e-8 m \(assumed: λz\/\(N·p\) of Ptychodus's default geometry \(10000 eV, 1 m, 75 µm detector pixels, N = 64\)\)/);
    assert.equal(scalar(p.probe_energy_eV), 10000);
    assert.equal(scalar(p.detector_object_distance_m), 1);
    assert.equal(scalar(p.probe_photon_count), 1e4, 'the dose');
    assert.equal(scalar(p.exposure_time_s), 0);

    // --json: the same export, machine-readable.
    const j = cli(['export-ptychodus', trainId, '--workspace', root, '--json']);
    assert.equal(j.code, 0, j.err);
    const res = JSON.parse(j.out) as PtychodusExportResult & { type: string };
    assert.equal(res.type, 'export-ptychodus');
    assert.deepEqual([res.kind, res.outFile, res.pixelSize.assumed, res.probe.source, res.positions.count, res.losses.count, res.losses.expected], ['train', out, true, 'dataset', xmLength(p), 2, 2]);
  });

  it('a Phase F job: by folder, to --out elsewhere; its own probe and the relative error per iteration', async () => {
    const outDir = path.join(root, 'exports');
    const out = path.join(outDir, 'epie.npz');
    const r = cli(['export-ptychodus', reconDir, '--out', out, '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const res = JSON.parse(r.out) as PtychodusExportResult;
    assert.deepEqual([res.jobId, res.kind, res.outFile, res.probe.source], [`${DOSE}/baseline/test/epie`, 'reconstruct', out, 'reconstruction']);
    assert.ok(!fs.existsSync(path.join(reconDir, 'ptychodus_product.npz')), 'nothing written in the job folder when --out is given');
    const p = await readProduct(out);
    const recFile = path.join(reconDir, 'reconstruction.npz');
    await checkGeometry(p, recFile, phaseCTest, assumedPixelSizeM(64));
    const rec = await readAllArrays(recFile);
    assert.deepEqual(p.probe.shape, [1, 1, ...rec.probe.shape]);
    assert.ok(bytesOf(p.probe.data).equals(bytesOf(rec.probe.data)), 'the reconstruction\'s final probe');
    const iterations = parseEvents(fs.readFileSync(path.join(reconDir, 'events.jsonl'), 'utf8')).filter((e): e is IterationEvent => e.type === 'iteration');
    assert.equal(iterations.length, 2);
    assert.deepEqual([...(p.loss_epochs.data as BigInt64Array)], [0n, 1n]);
    assert.deepEqual([...(p.loss_values.data as Float64Array)], iterations.map((e) => e.relativeError), 'costs: the relative error of each iteration');
    assert.match((p.comments.data as string[])[0], /Phase F epie reconstruction/);
  });

  it('refuses a job never trained (an Error subclass saying what to do), and an --out that is a folder, a symlink or a FIFO', async () => {
    const untrained = path.join(root, 'phase_e', DOSE, 'dense', 'gs2');
    const r = cli(['export-ptychodus', `${DOSE}/dense/gs2`, '--workspace', root]);
    assert.equal(r.code, 1);
    assert.match(r.err, /dose_10000\/dense\/gs2 has no finished result to export: it has not run yet .*Run it first \(ptycho-study train --workspace \S+ --dose 1e4 --view dense --gridsize 2\), then export it\./);
    const j = JSON.parse(cli(['export-ptychodus', `${DOSE}/dense/gs2`, '--workspace', root, '--json']).out) as { error: { code: string; exitCode: number; message: string } };
    assert.deepEqual([j.error.code, j.error.exitCode], ['failed', 1]);
    assert.match(j.error.message, /has not run yet/);
    await assert.rejects(exportPtychodusProduct(untrained, path.join(untrained, 'x.npz'), { jobId: `${DOSE}/dense/gs2` }), (err: unknown) => {
      assert.ok(err instanceof PtychodusExportError && err instanceof Error);
      assert.match(err.message, /has not run yet/);
      return true;
    });
    assert.ok(!fs.existsSync(path.join(untrained, 'ptychodus_product.npz')) && !fs.existsSync(path.join(untrained, 'x.npz')), 'nothing written');

    const folder = cli(['export-ptychodus', trainId, '--workspace', root, '--out', root]);
    assert.equal(folder.code, 1);
    assert.match(folder.err, /Refusing to write .*: it is a directory/);
    const target = path.join(root, 'elsewhere.npz');
    const link = path.join(root, 'link.npz');
    fs.symlinkSync(target, link);
    const linked = cli(['export-ptychodus', trainId, '--workspace', root, '--out', link]);
    assert.equal(linked.code, 1);
    assert.match(linked.err, /Refusing to write .*link\.npz: it is a symbolic link/);
    assert.ok(!fs.existsSync(target) && fs.lstatSync(link).isSymbolicLink(), 'the link is left alone, nothing written through it');
    if (process.platform !== 'win32') {
      const fifo = path.join(root, 'fifo.npz');
      const { spawnSync } = await import('node:child_process');
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
      const f = cli(['export-ptychodus', trainId, '--workspace', root, '--out', fifo]);
      assert.equal(f.code, 1);
      assert.match(f.err, /Refusing to write .*fifo\.npz: it is a FIFO/);
    }
    const own = cli(['export-ptychodus', trainId, '--workspace', root, '--out', path.join(trainDir, 'reconstruction.npz')]);
    assert.equal(own.code, 1);
    assert.match(own.err, /one of the job's own files/);
  });

  it('the object pixel size recorded in the data\'s _metadata is used (not assumed), and a dataset changed since the run is noted', async () => {
    // Rewrite the Phase C test split with a pixel size in its _metadata (every other member as it was).
    const arrays = await readAllArrays(phaseCTest);
    const meta = JSON.parse((arrays._metadata.data as string[])[0]) as Record<string, unknown>;
    arrays._metadata = scalarString(JSON.stringify({ ...meta, object_pixel_size_m: 5e-9, photon_energy_keV: 8.8, detector_distance_m: 2.5 }));
    await writeNpz(phaseCTest, arrays);
    const out = path.join(root, 'exports', 'with-metadata.npz');
    const r = cli(['export-ptychodus', trainDir, '--out', out, '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const res = JSON.parse(r.out) as PtychodusExportResult;
    assert.deepEqual([res.pixelSize.meters, res.pixelSize.assumed], [5e-9, false]);
    assert.match(res.pixelSize.source, /_metadata object_pixel_size_m/);
    assert.deepEqual([res.probeEnergyEv.value, res.probeEnergyEv.assumed, res.detectorDistanceM.value, res.detectorDistanceM.assumed], [8800, false, 2.5, false]);
    assert.ok(res.notes.some((n) => /has changed since the run/.test(n)), res.notes.join('\n'));
    assert.ok(!res.notes.some((n) => /ASSUMED/.test(n)));
    const p = await readProduct(out);
    await checkGeometry(p, path.join(trainDir, 'reconstruction.npz'), phaseCTest, 5e-9);
    assert.equal(scalar(p.probe_energy_eV), 8800);
    assert.equal(scalar(p.detector_object_distance_m), 2.5);
    const text = cli(['export-ptychodus', trainDir, '--out', out]);
    assert.equal(text.code, 0, text.err);
    assert.doesNotMatch(text.out, /ASSUMED/);
    assert.match(text.out, /pixel size 5\.0000e-9 m \(_metadata object_pixel_size_m/);
  });

  it('a dataset moved away since the run: exported from the copies reconstruction.npz recorded (a training and a Phase F job), and refused with what to do where there are none', async () => {
    // The run recorded its dataset's positions and probeGuess as it read them, member for member.
    const trainRec = path.join(trainDir, 'reconstruction.npz');
    const reconRec = path.join(reconDir, 'reconstruction.npz');
    const before = await readAllArrays(phaseCTest);
    for (const rec of [trainRec, reconRec]) {
      const a = await readAllArrays(rec);
      for (const k of ['xcoords', 'ycoords', 'probeGuess']) {
        assert.deepEqual([a[k].dtype.descr, a[k].shape], [before[k].dtype.descr, before[k].shape], `${rec} ${k}`);
        assert.ok(bytesOf(a[k].data).equals(bytesOf(before[k].data)), `${rec} ${k}: the dataset's values`);
      }
    }
    const moved = `${phaseCTest}.moved`;
    fs.renameSync(phaseCTest, moved);
    try {
      const out = path.join(root, 'exports', 'moved.npz');
      const r = cli(['export-ptychodus', trainId, '--workspace', root, '--out', out, '--json']);
      assert.equal(r.code, 0, r.err + r.out);
      const res = JSON.parse(r.out) as PtychodusExportResult;
      assert.deepEqual([res.positions.dataset, res.positions.readFrom, res.probe.file, res.probe.key], [phaseCTest, trainRec, trainRec, 'probeGuess']);
      assert.ok(res.notes.some((n) => /cannot be read: .*Exported from the copies .*reconstruction\.npz recorded when the run read it instead: its positions, probeGuess and units\./.test(n)), res.notes.join('\n'));
      assert.ok(!res.notes.some((n) => /has changed since the run/.test(n)), 'the copies are the run\'s own: nothing to compare');
      // The units are those the run read: the pixel size the previous test wrote into the file afterwards is not in them.
      assert.equal(res.pixelSize.assumed, true);
      const p = await readProduct(out);
      await checkGeometry(p, trainRec, moved, assumedPixelSizeM(64));
      assert.ok(bytesOf(p.probe.data).equals(bytesOf(before.probeGuess.data)), 'probe = the recorded probeGuess');
      const text = cli(['export-ptychodus', trainId, '--workspace', root, '--out', out]);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, /positions {2}\d+ from \S+patched_test\.npz \(as recorded in \S+reconstruction\.npz; the dataset cannot be read\)/);

      const f = cli(['export-ptychodus', reconDir, '--out', path.join(root, 'exports', 'moved-epie.npz'), '--json']);
      assert.equal(f.code, 0, f.err + f.out);
      const fr = JSON.parse(f.out) as PtychodusExportResult;
      assert.deepEqual([fr.positions.readFrom, fr.probe.source, fr.probe.key], [reconRec, 'reconstruction', 'probe']);
      await checkGeometry(await readProduct(path.join(root, 'exports', 'moved-epie.npz')), reconRec, moved, assumedPixelSizeM(64));

      // A result written before the copies existed: the dataset is needed, and the refusal says so.
      const old = await readAllArrays(trainRec);
      for (const k of ['xcoords', 'ycoords', 'probeGuess']) delete old[k];
      await writeNpz(trainRec, old);
      const refused = cli(['export-ptychodus', trainId, '--workspace', root, '--out', path.join(root, 'exports', 'refused.npz')]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /The dataset .*patched_test\.npz\) cannot be read: .*The export needs its scan positions and probeGuess; restore the file and retry\./);
      assert.ok(!fs.existsSync(path.join(root, 'exports', 'refused.npz')), 'nothing written');
    } finally {
      fs.renameSync(moved, phaseCTest);
    }
  });
});

function xmLength(p: Record<string, NdArray>): number {
  return p.probe_position_x_m.shape[0];
}
