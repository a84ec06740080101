// "Open in Notebook" (core/export/notebook.ts, `ptycho-study notebook`): a Jupyter notebook beside a trained job and a
// Phase F reconstruction of a small simulated study. Checked without Python: the nbformat 4.5 structure, that what the
// notebook loads exists relative to the notebook (also after the folder is copied, and from an --out elsewhere), that
// every key it reads is a member of reconstruction.npz (read with the project's reader), the workbench's colormaps,
// what it refuses to overwrite, and that a hostile job id stays inside one string literal. Where a python3 is there
// (PTYCHO_NOTEBOOK_PYTHON or python3), the code cells are also parsed by Python, and run where numpy and matplotlib are.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cellsFingerprint, jobNotebook, markdownText, pyString, type Notebook } from '../../src/core/export/notebook';
import { withNpz } from '../../src/core/npy';
import { tempDir } from './helpers/paths';
import { cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';

const TRAIN_ID = `${DOSE}/baseline/gs1`;
const RECON_ID = `${DOSE}/dense/test/epie`;
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const text = (source: string | string[]): string => (Array.isArray(source) ? source.join('') : source);
const codeOf = (nb: Notebook): string => nb.cells.filter((c) => c.cell_type === 'code').map((c) => text(c.source)).join('\n');

/** Decodes a Python string literal as pyString writes them (double-quoted; \\ \" \n \r \t \xHH \uXXXX \UXXXXXXXX). */
function decodePy(literal: string): string {
  assert.match(literal, /^"(?:[^"\\\n\r]|\\.)*"$/, `one double-quoted literal: ${literal}`);
  return literal.slice(1, -1).replace(/\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    const simple: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' };
    if (!(e in simple)) throw new Error(`unexpected escape \\${e}`);
    return simple[e];
  });
}

/** The value of `NAME = "…"` in the code (exactly one such line). */
function pyAssignment(code: string, name: string): string {
  const found = code.split('\n').filter((l) => l.startsWith(`${name} = `));
  assert.equal(found.length, 1, `one ${name} line`);
  return decodePy(found[0].slice(name.length + 3));
}

/** nbformat 4.5 (the parts of its JSON schema a reader relies on). */
function assertNbformat4(nb: Notebook): void {
  assert.equal(nb.nbformat, 4);
  assert.ok(nb.nbformat_minor >= 5, 'cell ids need nbformat_minor 5');
  assert.deepEqual(Object.keys(nb).sort(), ['cells', 'metadata', 'nbformat', 'nbformat_minor']);
  const meta = nb.metadata as { kernelspec: Record<string, string>; language_info: Record<string, string> };
  assert.deepEqual([meta.kernelspec.name, meta.kernelspec.language, typeof meta.kernelspec.display_name], ['python3', 'python', 'string']);
  assert.equal(meta.language_info.name, 'python');
  assert.ok(Array.isArray(nb.cells) && nb.cells.length >= 5);
  const ids = new Set<string>();
  for (const c of nb.cells) {
    assert.ok(c.cell_type === 'markdown' || c.cell_type === 'code', c.cell_type);
    assert.match(c.id, /^[a-zA-Z0-9_-]{1,64}$/, 'a valid cell id');
    assert.ok(!ids.has(c.id), `unique id ${c.id}`);
    ids.add(c.id);
    assert.ok(c.metadata && typeof c.metadata === 'object' && !Array.isArray(c.metadata));
    assert.ok(typeof c.source === 'string' || (Array.isArray(c.source) && c.source.every((s) => typeof s === 'string')), 'source: a string or strings');
    if (Array.isArray(c.source)) c.source.slice(0, -1).forEach((l) => assert.ok(l.endsWith('\n'), 'lines keep their newline'));
    if (c.cell_type === 'code') {
      assert.deepEqual(Object.keys(c).sort(), ['cell_type', 'execution_count', 'id', 'metadata', 'outputs', 'source']);
      assert.deepEqual(c.outputs, []);
      assert.equal(c.execution_count, null);
    } else {
      assert.deepEqual(Object.keys(c).sort(), ['cell_type', 'id', 'metadata', 'source']);
    }
  }
}

/** The files the notebook reads (`os.path.join(JOB_DIR, "…")`), resolved from the notebook's folder. */
function loadedFiles(nbFile: string, nb: Notebook): string[] {
  const code = codeOf(nb);
  const jobDir = pyAssignment(code, 'JOB_DIR');
  assert.ok(!path.isAbsolute(jobDir) && !/^[A-Za-z]:/.test(jobDir), `a relative job folder: ${jobDir}`);
  const names = [...code.matchAll(/os\.path\.join\(JOB_DIR, ("(?:[^"\\]|\\.)*")\)/g)].map((m) => decodePy(m[1]));
  assert.ok(names.includes('reconstruction.npz'), 'loads reconstruction.npz');
  return names.map((n) => path.resolve(path.dirname(nbFile), jobDir, n));
}

/** Every reconstruction.npz key the code reads: KEYS, arrays["…"], npz["…"]. */
function referencedKeys(nb: Notebook): string[] {
  const code = codeOf(nb);
  const keysLine = code.split('\n').find((l) => l.startsWith('KEYS = '))!;
  const keys = [...keysLine.matchAll(/"(?:[^"\\]|\\.)*"/g)].map((m) => decodePy(m[0]));
  const indexed = [...code.matchAll(/\b(?:arrays|npz)\[("(?:[^"\\]|\\.)*")\]/g)].map((m) => decodePy(m[1]));
  return [...new Set([...keys, ...indexed])];
}

const python = process.env.PTYCHO_NOTEBOOK_PYTHON || 'python3';
const pyProbe = spawnSync(python, ['-c', 'import sys; print(sys.version_info[0])'], { encoding: 'utf8' });
const hasPython3 = pyProbe.status === 0 && pyProbe.stdout.trim() === '3';
const hasScientific = hasPython3 && spawnSync(python, ['-c', 'import numpy, matplotlib'], { encoding: 'utf8' }).status === 0;

/** Runs the notebook's code cells in its folder (Agg backend; plt.show saves the figures). Optional: needs Python. */
function executeNotebook(nbFile: string): { code: number | null; out: string; err: string; figures: number } {
  const script = [
    'import json, os, sys',
    'import matplotlib',
    'matplotlib.use("Agg")',
    'import matplotlib.pyplot as plt',
    'nb_file = os.path.abspath(sys.argv[1])',
    'nb = json.load(open(nb_file, encoding="utf-8"))',
    'os.chdir(os.path.dirname(nb_file))',
    'shown = []',
    'def show():',
    '    shown.extend(plt.get_fignums())',
    '    plt.close("all")',
    'plt.show = show',
    'ns = {}',
    'for cell in nb["cells"]:',
    '    if cell["cell_type"] == "code":',
    '        exec(compile("".join(cell["source"]), cell["id"], "exec"), ns)',
    'print("FIGURES", len(shown))',
  ].join('\n');
  const r = spawnSync(python, ['-c', script, nbFile], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, MPLBACKEND: 'Agg' } });
  return { code: r.status, out: r.stdout, err: r.stderr, figures: Number(/FIGURES (\d+)/.exec(r.stdout)?.[1] ?? -1) };
}

describe('notebook: a Jupyter notebook beside a job', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-notebook-');
  const root = tmp.dir;
  const trainDir = path.join(root, 'phase_e', DOSE, 'baseline', 'gs1');
  const reconDir = path.join(root, 'phase_f', DOSE, 'dense', 'test', 'epie');

  before(async () => {
    await simulateSmallStudy(root, 96);
    const t = cli(['train', '--workspace', root, '--view', 'baseline', ...QUICK_TRAIN]);
    assert.equal(t.code, 0, t.err);
    const r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--iterations', '2']);
    assert.equal(r.code, 0, r.err);
  });
  after(() => tmp.cleanup());

  for (const [label, id, dir, kind] of [['training job', TRAIN_ID, trainDir, 'train'], ['Phase F reconstruction', RECON_ID, reconDir, 'reconstruct']] as const) {
    it(`${label}: nbformat 4.5 in <job>/analysis.ipynb, reading files that exist beside it and keys reconstruction.npz has`, async () => {
      const r = cli(['notebook', id, '--workspace', root, '--json']);
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(r.out) as { notebook: string; job: string; kind: string; relativeJobDir: string; replaced: string | null };
      const nbFile = path.join(dir, 'analysis.ipynb');
      assert.deepEqual([report.notebook, report.job, report.kind, report.relativeJobDir, report.replaced], [nbFile, id, kind, '.', null]);
      const raw = fs.readFileSync(nbFile, 'utf8');
      const nb = JSON.parse(raw) as Notebook;
      assertNbformat4(nb);
      assert.ok(!raw.includes(root), 'no absolute path in the notebook');

      // The title: job id, kind, run id, status and the manifest's key settings.
      const manifest = readJson<{ runId: string; status: string; config: { training?: { epochs: number }; settings?: { iterations: number } } }>(path.join(dir, 'manifest.json'));
      const title = text(nb.cells[0].source);
      assert.equal(nb.cells[0].cell_type, 'markdown');
      const plain = title.replace(/\\(.)/g, '$1');
      assert.match(plain.split('\n')[0], new RegExp(`^# ${kind === 'train' ? 'Training' : 'Reconstruction'} job ${id}$`));
      assert.ok(plain.includes(`| kind | ${kind === 'train' ? 'training' : 'Phase F reconstruction'}`));
      assert.ok(plain.includes(`| run | ${manifest.runId} |`) && plain.includes(`| status | ${manifest.status} |`));
      if (kind === 'train') assert.ok(plain.includes(`| epochs | ${manifest.config.training!.epochs} |`));
      else assert.ok(plain.includes(`| iterations | ${manifest.config.settings!.iterations} |`) && plain.includes('| algorithm | epie |'));

      // A cell imports numpy, json and matplotlib.
      const code = codeOf(nb);
      for (const m of [/^import json$/m, /^import numpy as np$/m, /^import matplotlib\.pyplot as plt$/m]) assert.match(code, m);

      // What it loads exists relative to the notebook; np.load never unpickles.
      const files = loadedFiles(nbFile, nb);
      assert.deepEqual(files.map((f) => path.basename(f)).sort(), ['events.jsonl', 'manifest.json', 'metrics.json', 'reconstruction.npz']);
      for (const f of files) assert.ok(fs.statSync(f).isFile(), `${f} exists`);
      assert.match(code, /np\.load\(RECONSTRUCTION, allow_pickle=False\)/);
      assert.doesNotMatch(code, /allow_pickle=True/);

      // Every key it reads is a member of reconstruction.npz (the project's reader); the images it shows are there.
      const members = await withNpz(path.join(dir, 'reconstruction.npz'), async (a) => [...a.members.keys()]);
      const keys = referencedKeys(nb);
      assert.deepEqual(keys.filter((k) => !members.includes(k)), [], `keys the file lacks (it has ${members.join(', ')})`);
      for (const k of ['amplitude', 'phase', 'ground_truth', '_metadata', ...(kind === 'reconstruct' ? ['probe'] : [])]) assert.ok(keys.includes(k), `reads ${k}`);
      assert.equal(kind === 'reconstruct', nb.cells.some((c) => c.id === 'probe'), 'a probe cell only for Phase F');

      // The workbench's colormaps (amplitude gray, phase twilight over −π…π), colorbars, the ground truth beside.
      assert.equal(pyAssignment(code, 'AMPLITUDE_CMAP'), 'gray');
      assert.equal(pyAssignment(code, 'PHASE_CMAP'), 'twilight');
      assert.match(code, /imshow\(ph, cmap=PHASE_CMAP, vmin=-np\.pi, vmax=np\.pi/);
      assert.match(code, /fig\.colorbar\(im, ax=ax_amp/);
      assert.match(code, /rows\.append\(\("ground truth", np\.abs\(ground_truth\), np\.angle\(ground_truth\)\)\)/);
      // The headline metrics and the history of the events it parses.
      assert.match(code, /"pearsonCovered", "Pearson r \(covered\)"/);
      assert.match(code, kind === 'train' ? /e\.get\("type"\) == "epoch"[\s\S]*e\.get\("trainLoss"\)[\s\S]*e\.get\("valLoss"\)/ : /e\.get\("type"\) == "iteration"[\s\S]*e\.get\("relativeError"\)/);
      const events = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; trainLoss?: number; relativeError?: number });
      assert.ok(events.some((e) => (kind === 'train' ? e.type === 'epoch' && typeof e.trainLoss === 'number' : e.type === 'iteration' && typeof e.relativeError === 'number')), 'the fields the notebook plots are in the journal');

      // The notebook is the pure function of what the folder holds: its mark fingerprints the cells.
      assert.equal((nb.metadata.ptycho_study as { cellsSha256: string }).cellsSha256, cellsFingerprint(nb.cells));

      if (hasScientific) {
        const run = executeNotebook(nbFile);
        assert.equal(run.code, 0, run.err);
        assert.match(run.out, /Pearson r \(covered\) +-?[\d.e-]+ +-?[\d.e-]+/);
        assert.equal(run.figures, kind === 'reconstruct' ? 3 : 2);
      }
    });
  }

  it('paths stay relative: a copied job folder still resolves, and --out elsewhere reaches the job by ../', () => {
    const copy = path.join(root, 'moved', 'epie-copy');
    fs.cpSync(reconDir, copy, { recursive: true });
    const nbFile = path.join(copy, 'analysis.ipynb');
    for (const f of loadedFiles(nbFile, readJson<Notebook>(nbFile))) assert.ok(fs.existsSync(f) && f.startsWith(copy), f);

    const out = path.join(root, 'notebooks', 'recon.ipynb');
    const r = cli(['notebook', reconDir, '--out', out, '--json']);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(r.out) as { notebook: string; relativeJobDir: string; job: string };
    assert.deepEqual([report.notebook, report.relativeJobDir, report.job], [out, `../phase_f/${DOSE}/dense/test/epie`, RECON_ID], 'a folder given as a path; the id from its manifest');
    const nb = readJson<Notebook>(out);
    assertNbformat4(nb);
    for (const f of loadedFiles(out, nb)) assert.ok(fs.existsSync(f) && f.startsWith(reconDir), f);
    assert.ok(!fs.readFileSync(out, 'utf8').includes(root));
  });

  it('never overwrites what it did not write: refresh ours, keep an edited one (analysis-2), refuse a foreign --out, a symlink or a FIFO', () => {
    const nbFile = path.join(trainDir, 'analysis.ipynb');
    const again = cli(['notebook', TRAIN_ID, '--workspace', root, '--json']);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual([(JSON.parse(again.out) as { notebook: string; replaced: string }).notebook, (JSON.parse(again.out) as { replaced: string }).replaced], [nbFile, 'ours']);

    // The user edits it: kept; the new one goes to analysis-2.ipynb (and that one is refreshed after).
    const edited = readJson<Notebook>(nbFile);
    edited.cells.push({ cell_type: 'code', id: 'mine', metadata: {}, source: ['print("my analysis")'], execution_count: null, outputs: [] });
    fs.writeFileSync(nbFile, JSON.stringify(edited));
    const before = fs.readFileSync(nbFile, 'utf8');
    const second = cli(['notebook', TRAIN_ID, '--workspace', root]);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /^NOTEBOOK .*analysis-2\.ipynb$/m);
    assert.equal(fs.readFileSync(nbFile, 'utf8'), before, 'the edited notebook is untouched');
    assertNbformat4(readJson<Notebook>(path.join(trainDir, 'analysis-2.ipynb')));
    assert.match(cli(['notebook', TRAIN_ID, '--workspace', root]).out, /analysis-2\.ipynb[\s\S]*refreshed/);

    // An --out file that is not ours: refused (exit 1, file unchanged) unless --force.
    const foreign = path.join(root, 'mine.ipynb');
    fs.writeFileSync(foreign, '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}');
    const refused = cli(['notebook', TRAIN_ID, '--workspace', root, '--out', foreign, '--json']);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /was not written by ptycho-study notebook.*--force/);
    assert.equal((JSON.parse(refused.out) as { error: { file: string } }).error.file, foreign);
    assert.equal(fs.readFileSync(foreign, 'utf8').length, 65);
    assert.equal(cli(['notebook', TRAIN_ID, '--workspace', root, '--out', foreign, '--force']).code, 0);
    assertNbformat4(readJson<Notebook>(foreign));
    assert.equal(cli(['notebook', TRAIN_ID, '--workspace', root, '--out', path.join(root, 'x.txt')]).code, 2, 'not a .ipynb');

    // A symlink in the way is refused, even with --force, and its target is untouched.
    const victim = path.join(root, 'victim.txt');
    fs.writeFileSync(victim, 'keep me');
    const link = path.join(root, 'link.ipynb');
    fs.symlinkSync(victim, link);
    const viaLink = cli(['notebook', TRAIN_ID, '--workspace', root, '--out', link, '--force']);
    assert.equal(viaLink.code, 1);
    assert.match(viaLink.err, /symbolic link/);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(fs.readFileSync(victim, 'utf8'), 'keep me');
    if (process.platform !== 'win32' && spawnSync('mkfifo', [path.join(root, 'fifo.ipynb')]).status === 0) {
      const viaFifo = cli(['notebook', TRAIN_ID, '--workspace', root, '--out', path.join(root, 'fifo.ipynb')], 20_000);
      assert.equal(viaFifo.code, 1);
      assert.match(viaFifo.err, /FIFO/);
    }
  });

  it('a job with no reconstruction.npz: a clear error (train or reconstruct it first); a bad target is a usage error', () => {
    const r = cli(['notebook', `${DOSE}/dense/gs2`, '--workspace', root]);
    assert.equal(r.code, 1);
    assert.match(r.err, /has no reconstruction\.npz .*train the job .* first/);
    assert.ok(!fs.existsSync(path.join(root, 'phase_e', DOSE, 'dense', 'gs2', 'analysis.ipynb')));
    const rec = cli(['notebook', `${DOSE}/sparse/test/rpie`, '--workspace', root]);
    assert.equal(rec.code, 1);
    assert.match(rec.err, /reconstruct it .* first/);
    assert.equal(cli(['notebook', path.join(root, 'no-such-folder')]).code, 2);
    assert.equal(cli(['notebook']).code, 2);
  });

  it('a hostile job id (quotes, newlines, HTML, Markdown) stays inside one Python string literal and one line of text', () => {
    const hostile = `${DOSE}/x"; __import__("os").system("touch PWNED") #\n__import__('os').system('touch PWNED2')\r\n"""\\ \u2028 <img src=x onerror=alert(1)> | [a](javascript:alert(1)) $x$ 😀`;
    const dir = path.join(root, 'hostile');
    fs.cpSync(reconDir, dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.ipynb')) fs.rmSync(path.join(dir, f));
    const m = readJson<Record<string, unknown> & { job: Record<string, unknown>; config: { settings: Record<string, unknown> } }>(path.join(dir, 'manifest.json'));
    m.job.id = hostile;
    m.runId = 'run"\n__import__("os")';
    m.config.settings.loss = '</td><script>alert(1)</script>\n# heading';
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const r = cli(['notebook', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { job: string }).job, hostile);
    const nbFile = path.join(dir, 'analysis.ipynb');
    const nb = readJson<Notebook>(nbFile);
    assertNbformat4(nb);
    const code = codeOf(nb);
    assert.equal(pyAssignment(code, 'JOB_ID'), hostile, 'the id, exactly, as one literal');
    const lines = code.split('\n');
    assert.deepEqual(lines.filter((l) => l.includes('__import__')).map((l) => l.split(' = ')[0]), ['JOB_ID'], 'the payload only inside the JOB_ID literal');
    assert.ok(!/[\u2028\u2029\r]/.test(code), 'no line separator in the code');
    // Markdown: the id and the settings are escaped text on one line each: no HTML, no link, no heading, no math.
    const title = text(nb.cells[0].source);
    const titleLines = title.split('\n');
    assert.ok(titleLines[0].startsWith('# Reconstruction job '));
    assert.ok(titleLines[0].includes('PWNED2'), 'the whole id on the title line');
    const fromFiles = titleLines.filter((l) => /^(# |\| (job|run|loss) \| )/.test(l));
    assert.equal(fromFiles.length, 4, 'the title and the job, run and loss rows, each one line');
    for (const l of fromFiles) {
      assert.doesNotMatch(l.replace(/\\./g, ''), /[<>[\]$`]/, `no unescaped HTML, link, math or code: ${l}`);
      if (l.startsWith('|')) assert.equal(l.replace(/\\./g, '').split('|').length, 4, `the table row keeps its two cells: ${l}`);
    }
    assert.ok(!titleLines.some((l) => /^#\s*heading/.test(l)), 'a setting cannot start a heading');
    assert.equal(markdownText('a|b<c>\nd'), 'a\\|b\\<c\\> d');
    assert.equal(pyString('é😀\u0000\ud800'), '"\\u00e9\\U0001f600\\u0000\\ufffd"');

    if (hasPython3) {
      // Python itself parses every code cell and reads the literal back as the same id.
      const check = spawnSync(python, ['-c', [
        'import ast, json, sys',
        'nb = json.load(open(sys.argv[1], encoding="utf-8"))',
        'for c in nb["cells"]:',
        '    if c["cell_type"] == "code":',
        '        tree = ast.parse("".join(c["source"]))',
        '        for node in ast.walk(tree):',
        '            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "JOB_ID":',
        '                sys.stdout.write(json.dumps(ast.literal_eval(node.value)))',
      ].join('\n'), nbFile], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stderr);
      assert.equal(JSON.parse(check.stdout), hostile);
      if (hasScientific) {
        const run = executeNotebook(nbFile);
        assert.equal(run.code, 0, run.err);
        assert.ok(!fs.existsSync(path.join(dir, 'PWNED')) && !fs.existsSync(path.join(dir, 'PWNED2')), 'nothing of the id ran');
      }
    }
    // The core function, given the id directly, embeds it the same way.
    const direct = jobNotebook({ jobId: hostile, kind: 'train', jobDir: '.', arrays: ['object'], metadataString: false, pickled: ['_metadata'], files: { metrics: false, events: false, manifest: false }, settings: [] });
    assert.equal(pyAssignment(codeOf(direct), 'JOB_ID'), hostile);
    assert.match(codeOf(direct), /^amplitude = np\.abs\(arrays\["object"\]\)$/m, 'amplitude from the object when the file has no amplitude');
    assert.match(codeOf(direct), /^METRICS_JSON = None/m, 'a missing file is not referenced');
    assert.match(codeOf(direct), /^PICKLED = \["_metadata"\]  # object arrays: not loaded$/m, 'a pickled _metadata (older files) is never loaded');
    assert.doesNotMatch(codeOf(direct), /npz\["_metadata"\]/);
  });
});
