// The CLI reads the settings the VS Code extension reads (core/study/workspaceSettings.ts, settingsKeys.ts): a
// folder's ptycho-study.json and .vscode/settings.json (JSONC), through the one key → field mapping both share;
// flags > ptycho-study.json > .vscode/settings.json > defaults. Hostile files are skipped promptly with a warning,
// restricted settings are never taken from a file, and a real CLI run plans exactly the run Copy CLI Command plans
// for the same settings.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTrainingSettings } from '../../src/core/study/config';
import { trainArgs } from '../../src/core/study/cliCommand';
import { resolveReconstructionSettings, RECON_ALGORITHMS } from '../../src/core/study/reconstructJobs';
import {
  listedAlgorithmsFromSettings, reconstructionSettingsFromSettings, SETTING_KEYS, trainingSettingsFromSettings, trainingThreadsFromSettings,
  type SettingGet,
} from '../../src/core/study/settingsKeys';
import {
  NOT_FROM_WORKSPACE_FILES, parseJsonc, readWorkspaceSettings, RESTRICTED_READ_FROM_FILES, SETTINGS_FILE_MAX_BYTES, stripJsonc,
} from '../../src/core/study/workspaceSettings';
import { repoRoot, tempDir } from './helpers/paths';
import { cli, CLI, simulateSmallStudy } from './helpers/smallStudy';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { type: string | string[]; default?: unknown }> } };
  capabilities: { untrustedWorkspaces: { restrictedConfigurations: string[] } };
};
const PROPS = pkg.contributes.configuration.properties;

/** VS Code's cfg.get: the value set, else package.json's default. */
function vscodeGet(values: Record<string, unknown>): SettingGet {
  return (key) => (key in values ? values[key] : PROPS[`ptychoStudy.${key}`]?.default);
}

function write(file: string, text: string | Buffer): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** Runs `fn` and asserts it took less than `ms`. */
function prompt<T>(what: string, fn: () => T, ms = 2000): T {
  const t0 = Date.now();
  const r = fn();
  assert.ok(Date.now() - t0 < ms, `${what} took ${Date.now() - t0} ms`);
  return r;
}

describe('workspace settings files (ptycho-study.json, .vscode/settings.json)', function () {
  this.timeout(300_000);

  describe('JSONC', () => {
    it('comments and trailing commas go; strings holding //, /* and escaped quotes stay as they are', () => {
      const text = [
        '\ufeff{',
        '  // a line comment, with "quotes" and a trailing comma,',
        '  "a": "http://example.org/x", /* a block',
        '     comment spanning lines */',
        '  "b": "/* not a comment */ // nor this",',
        '  "c": "quote \\" then // still text",',
        '  "d": [1, 2, 3, ],',
        '  "e": { "f": true, /* before the brace */ },',
        '  "g": "back\\\\", // an escaped backslash ends the string',
        '}',
      ].join('\n');
      assert.deepEqual(parseJsonc(text), {
        a: 'http://example.org/x', b: '/* not a comment */ // nor this', c: 'quote " then // still text', d: [1, 2, 3], e: { f: true }, g: 'back\\',
      });
      // Positions are kept (comments become spaces, line breaks stay), so an error's line is the file's.
      assert.equal(stripJsonc('{"a": 1 /* x */}').length, '{"a": 1 /* x */}'.length);
      assert.equal(stripJsonc('["a,]", ]'), '["a,]"  ]');
      assert.throws(() => parseJsonc('{"a": 1 /* never closed'), /unterminated \/\* comment at line 1/);
      assert.throws(() => parseJsonc('{\n\n"a": 1,\n"b" 2}'), /line 4/);
    });

    it('is linear: a 1 MiB file of commas, comments and quotes parses (or fails) at once', () => {
      const noise = '/*' + ',,,'.repeat(100_000) + '*/ ' + '//' + '"'.repeat(100_000) + '\n';
      prompt('stripJsonc', () => assert.deepEqual(parseJsonc(`{${noise}"a": [${'1,'.repeat(100_000)}], }`), { a: new Array(100_000).fill(1) }));
      prompt('deep nesting', () => assert.throws(() => parseJsonc('['.repeat(500_000))));
    });
  });

  describe('reading a folder', () => {
    const tmp = tempDir('ptycho-ws-');
    after(() => tmp.cleanup());
    let n = 0;
    const folder = (): string => fs.mkdtempSync(path.join(tmp.dir, `f${n++}-`));

    it('dotted and nested forms (mixed too) give the same values; other keys are not read', () => {
      const dotted = folder();
      write(path.join(dotted, 'ptycho-study.json'), JSON.stringify({ 'ptychoStudy.training.epochs': 20, 'ptychoStudy.reconstruction.probe': 'refine', 'editor.tabSize': 2 }));
      const nested = folder();
      write(path.join(nested, 'ptycho-study.json'), JSON.stringify({ ptychoStudy: { training: { epochs: 20 }, reconstruction: { probe: 'refine' } } }));
      const mixed = folder();
      write(path.join(mixed, 'ptycho-study.json'), JSON.stringify({ 'ptychoStudy.training': { epochs: 20 }, ptychoStudy: { 'reconstruction.probe': 'refine' } }));
      for (const dir of [dotted, nested, mixed]) {
        const ws = readWorkspaceSettings(dir);
        assert.deepEqual(ws.warnings, [], dir);
        assert.deepEqual(ws.keys().sort(), ['reconstruction.probe', 'training.epochs'], dir);
        assert.equal(ws.get('training.epochs'), 20);
        assert.equal(ws.get('reconstruction.probe'), 'refine');
        assert.deepEqual(ws.files, [path.join(dir, 'ptycho-study.json')]);
      }
    });

    it('ptycho-study.json wins over .vscode/settings.json key by key; each value knows its file', () => {
      const dir = folder();
      const own = write(path.join(dir, 'ptycho-study.json'), JSON.stringify({ 'ptychoStudy.training.epochs': 5 }));
      const vs = write(path.join(dir, '.vscode', 'settings.json'), '{\n  // VS Code\n  "ptychoStudy.training.epochs": 3,\n  "ptychoStudy.training.batchSize": 4,\n}\n');
      const ws = readWorkspaceSettings(dir);
      assert.deepEqual(ws.warnings, []);
      assert.deepEqual([ws.get('training.epochs'), ws.get('training.batchSize'), ws.get('training.seed')], [5, 4, undefined]);
      assert.deepEqual([ws.origin('training.epochs'), ws.origin('training.batchSize'), ws.origin('training.seed')], [own, vs, undefined]);
      assert.deepEqual(ws.files, [own, vs]);
    });

    it('a value of the wrong type, an unknown key and a restricted setting are ignored, each with a warning naming the file', () => {
      const dir = folder();
      const file = write(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({
        'ptychoStudy.training.epochs': '20', 'ptychoStudy.training.batchSize': 8.5, 'ptychoStudy.executionProvider': 'gpu', 'ptychoStudy.training.epoch': 3,
        'ptychoStudy.training.allowIntensityData': true, 'ptychoStudy.training.seed': 7,
      }));
      const ws = readWorkspaceSettings(dir);
      assert.deepEqual(ws.keys(), ['training.seed']);
      assert.equal(ws.get('training.allowIntensityData'), undefined);
      const w = ws.warnings.join('\n');
      for (const re of [
        /ptychoStudy\.training\.epochs must be a whole number \(got "20"\); ignored/, /training\.batchSize must be a whole number \(got 8\.5\)/,
        /executionProvider must be one of auto, cuda, webgpu, cpu \(got "gpu"\)/, /training\.epoch is not a setting/,
        /training\.allowIntensityData is not honoured from a workspace file/,
      ]) assert.match(w, re);
      for (const line of ws.warnings) assert.ok(line.startsWith(`${file}: `) && !line.includes('\n'), line);
      // The planner's own check of one value: in range for its type, refused by the planner, ignored with its sentence.
      const told: string[] = [];
      const s = trainingSettingsFromSettings((k) => ({ 'training.learningRate': 5, 'training.epochs': 0, 'training.seed': 3 } as Record<string, unknown>)[k], { warn: (m) => told.push(m) });
      assert.deepEqual([s.learningRate, s.epochs, s.seed], [undefined, undefined, 3]);
      assert.match(told.join('\n'), /ptychoStudy\.training\.learningRate: learningRate must be in \(0, 1\) \(got 5\); ignored\./);
      assert.match(told.join('\n'), /ptychoStudy\.training\.epochs: epochs must be a positive integer \(got 0\); ignored\./);
    });

    it('hostile files (FIFO, symlink to /dev/zero, symlink loop, 5 MiB, a folder, invalid JSON, not an object) are skipped at once with a one-line warning', () => {
      const cases: [string, (file: string) => boolean, RegExp][] = [
        ['FIFO', (f) => spawnSync('mkfifo', [f]).status === 0, /is a FIFO, not a regular file/],
        ['symlink to /dev/zero', (f) => (fs.existsSync('/dev/zero') ? (fs.symlinkSync('/dev/zero', f), true) : false), /is a character device, not a regular file/],
        ['symlink loop', (f) => (fs.symlinkSync(path.basename(f), f), true), /is a loop of symbolic links/],
        ['5 MiB file', (f) => (fs.writeFileSync(f, `{"ptychoStudy.training.epochs": 1, "pad": "${'x'.repeat(5 << 20)}"}`), true), /is 5\.0 MiB, over the 1 MiB/],
        ['folder', (f) => (fs.mkdirSync(f), true), /is a directory, not a regular file/],
        ['invalid JSON', (f) => (fs.writeFileSync(f, '{"ptychoStudy.training.epochs": 1,, }'), true), /not valid JSON: .*line 1/],
        ['binary', (f) => (fs.writeFileSync(f, Buffer.from([0xff, 0xfe, 0, 1, 2, 0x7b])), true), /not valid JSON/],
        ['array', (f) => (fs.writeFileSync(f, '[1, 2]'), true), /must hold a JSON object of settings \(got \[1,2\]\)/],
        ['deep', (f) => (fs.writeFileSync(f, `{"ptychoStudy": ${'{"a": '.repeat(50_000)}1${'}'.repeat(50_000)}}`), true), /nested too deep/],
      ];
      assert.ok(SETTINGS_FILE_MAX_BYTES === 1 << 20);
      for (const [what, make, re] of cases) {
        for (const name of ['ptycho-study.json', path.join('.vscode', 'settings.json')]) {
          const dir = folder();
          const file = path.join(dir, name);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          if (!make(file)) {
            console.log(`      (skipped: ${what} cannot be made here)`);
            continue;
          }
          // The other file still counts.
          const other = path.join(dir, name === 'ptycho-study.json' ? path.join('.vscode', 'settings.json') : 'ptycho-study.json');
          write(other, '{"ptychoStudy.training.seed": 9}');
          const ws = prompt(what, () => readWorkspaceSettings(dir));
          assert.equal(ws.warnings.length, 1, `${what}: ${ws.warnings.join(' | ')}`);
          assert.ok(ws.warnings[0].startsWith(`${file}: `), ws.warnings[0]);
          assert.match(ws.warnings[0], re, what);
          assert.ok(!ws.warnings[0].includes('\n'));
          assert.deepEqual([ws.keys(), ws.get('training.seed')], [['training.seed'], 9], what);
        }
      }
    });

    it('a FIFO as ptycho-study.json: the real CLI finishes promptly, says so on stderr, and goes on', function () {
      const dir = folder();
      const fifo = path.join(dir, 'ptycho-study.json');
      if (spawnSync('mkfifo', [fifo]).status !== 0) this.skip();
      const t0 = Date.now();
      const r = cli(['list', '--workspace', dir, '--json'], 30_000);
      assert.ok(Date.now() - t0 < 30_000, 'no hang');
      assert.equal(r.code, 1, r.err); // no study in the folder: the ordinary error, after the warning
      assert.match(r.err, new RegExp(`warning: ${fifo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: is a FIFO, not a regular file; it is not read; its settings are ignored\\.`));
      assert.match(r.err, /No study found/);
    });
  });

  describe('one mapping for VS Code and the CLI', () => {
    it('every setting package.json declares is known, with its type; every restricted one is either refused from files or read for a stated reason', () => {
      const kinds: Record<string, string[]> = { string: ['string'], integer: ['integer'], integerOrAuto: ['integer', 'string'], number: ['number'], boolean: ['boolean'], booleanOrAuto: ['boolean', 'string'], point: ['array', 'null'], algorithms: ['array'] };
      const declared = Object.keys(PROPS).filter((k) => k.startsWith('ptychoStudy.')).map((k) => k.slice('ptychoStudy.'.length));
      assert.deepEqual(declared.sort(), Object.keys(SETTING_KEYS).sort());
      for (const k of declared) assert.deepEqual([k, ...[PROPS[`ptychoStudy.${k}`].type].flat().sort()], [k, ...kinds[SETTING_KEYS[k].kind]], k);
      const restricted = pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.map((k) => k.slice('ptychoStudy.'.length)).sort();
      assert.deepEqual(restricted, [...Object.keys(NOT_FROM_WORKSPACE_FILES), ...Object.keys(RESTRICTED_READ_FROM_FILES)].sort());
      assert.ok('training.allowIntensityData' in NOT_FROM_WORKSPACE_FILES);
    });

    it('package.json\'s defaults (what VS Code reads when nothing is set) plan what the CLI plans from no file', () => {
      const none: SettingGet = () => undefined;
      const defaults = vscodeGet({});
      assert.deepEqual(resolveTrainingSettings(trainingSettingsFromSettings(defaults, { unchecked: true })), resolveTrainingSettings(trainingSettingsFromSettings(none)));
      for (const a of RECON_ALGORITHMS) {
        assert.deepEqual(resolveReconstructionSettings(reconstructionSettingsFromSettings(defaults, a, { unchecked: true })), resolveReconstructionSettings(reconstructionSettingsFromSettings(none, a)), a);
      }
      assert.equal(trainingThreadsFromSettings(defaults, { unchecked: true }), undefined);
      assert.deepEqual(listedAlgorithmsFromSettings(defaults, { unchecked: true }), listedAlgorithmsFromSettings(none));
    });

    it('unchecked (VS Code) passes a bad value on for the planner to refuse; checked (files) ignores it', () => {
      const get: SettingGet = (k) => (k === 'training.epochs' ? '20' : undefined);
      assert.equal(trainingSettingsFromSettings(get, { unchecked: true }).epochs, '20' as unknown as number);
      assert.throws(() => resolveTrainingSettings(trainingSettingsFromSettings(get, { unchecked: true })), /epochs must be a positive integer/);
      assert.equal(trainingSettingsFromSettings(get).epochs, undefined);
    });
  });

  describe('the real CLI in a small study', () => {
    const tmp = tempDir('ptycho-ws-cli-');
    const study = path.join(tmp.dir, 'study');
    const vscodeValues = { 'training.epochs': 1, 'training.nFiltersScale': 1, 'training.batchSize': 8, 'training.threads': 1 };
    const vsFile = path.join(study, '.vscode', 'settings.json');
    const ownFile = path.join(study, 'ptycho-study.json');
    const jobDir = path.join(study, 'phase_e', 'dose_10000', 'baseline', 'gs1');
    before(async () => {
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run node esbuild.mjs first`);
      await simulateSmallStudy(study);
      write(vsFile, [
        '{',
        '  // what Settings (Workspace) writes, with a comment and a trailing comma',
        '  "editor.rulers": [120],',
        ...Object.entries(vscodeValues).map(([k, v]) => `  "ptychoStudy.${k}": ${JSON.stringify(v)},`),
        '}',
      ].join('\n'));
    });
    afterEach(() => fs.rmSync(ownFile, { force: true }));
    after(() => tmp.cleanup());

    type DryRun = { settingsSources: string[]; jobs: { id: string; plan: { config: Record<string, unknown> & { training: Record<string, unknown>; settingsSources?: string[] } } }[] };
    const dryRun = (...args: string[]): DryRun => {
      const r = cli(['dry-run', '--workspace', study, '--view', 'baseline', '--json', ...args]);
      assert.equal(r.code, 0, r.err + r.out);
      return JSON.parse(r.out) as DryRun;
    };

    it('dry-run plans with .vscode/settings.json\'s values and records the file; --no-workspace-settings plans the defaults', () => {
      const d = dryRun();
      const c = d.jobs[0].plan.config;
      assert.deepEqual([c.training.epochs, c.training.nFiltersScale, c.training.batchSize], [1, 1, 8]);
      assert.deepEqual(c.settingsSources, [vsFile]);
      assert.deepEqual(d.settingsSources, [vsFile]);
      const written = JSON.parse(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8'));
      assert.deepEqual(written.config.settingsSources, [vsFile], 'the dry-run manifest records where the settings came from');
      const plain = dryRun('--no-workspace-settings').jobs[0].plan.config;
      assert.deepEqual([plain.training.epochs, plain.training.nFiltersScale, plain.training.batchSize, plain.settingsSources], [50, 2, 16, undefined]);
    });

    it('precedence: a flag beats ptycho-study.json, which beats .vscode/settings.json; only files whose values were used are recorded', () => {
      write(ownFile, JSON.stringify({ ptychoStudy: { training: { epochs: 3, seed: 11 } } }));
      let c = dryRun().jobs[0].plan.config;
      assert.deepEqual([c.training.epochs, c.training.seed, c.training.batchSize], [3, 11, 8]);
      assert.deepEqual(c.settingsSources, [ownFile, vsFile]);
      c = dryRun('--epochs', '2', '--seed', '5').jobs[0].plan.config;
      assert.deepEqual([c.training.epochs, c.training.seed, c.training.batchSize], [2, 5, 8]);
      assert.deepEqual(c.settingsSources, [vsFile], 'every value of ptycho-study.json was overridden');
      c = dryRun('--epochs', '2', '--seed', '5', '--batch-size', '4', '--n-filters-scale', '2').jobs[0].plan.config;
      assert.equal(c.settingsSources, undefined);
    });

    it('a wrong-typed and a restricted value in a file are ignored with a warning; the run still plans', () => {
      write(ownFile, JSON.stringify({ 'ptychoStudy.training.epochs': 'lots', 'ptychoStudy.training.allowIntensityData': true }));
      const r = cli(['dry-run', '--workspace', study, '--view', 'baseline', '--json']);
      assert.equal(r.code, 0, r.err);
      const c = (JSON.parse(r.out) as DryRun).jobs[0].plan.config;
      assert.deepEqual([c.training.epochs, c.training.allowIntensityData], [1, false], 'epochs from .vscode/settings.json; allowIntensityData not from a file');
      assert.match(r.err, /warning: .*ptycho-study\.json: ptychoStudy\.training\.epochs must be a whole number \(got "lots"\); ignored\./);
      assert.match(r.err, /warning: .*ptycho-study\.json: ptychoStudy\.training\.allowIntensityData is not honoured from a workspace file/);
    });

    it('train (no flags) runs with the files\' settings, threads included (recorded as from the setting), and records the source', () => {
      const r = cli(['train', '--workspace', study, '--view', 'baseline', '--json']);
      assert.equal(r.code, 0, r.err + r.out);
      const m = JSON.parse(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8'));
      assert.equal(m.status, 'succeeded');
      assert.deepEqual([m.config.training.epochs, m.config.training.nFiltersScale, m.config.training.batchSize], [1, 1, 8]);
      assert.deepEqual([m.runtime.threads, m.runtime.threadsSource], [1, 'setting']);
      assert.deepEqual(m.config.settingsSources, [vsFile]);
    });

    it('Copy CLI Command for the same settings (VS Code\'s reading of them) plans the same run as the files do', () => {
      const fromFiles = dryRun().jobs[0].plan.config;
      const get = vscodeGet(vscodeValues);
      const roots = { phaseCRoot: path.join(study, 'phase_c'), phaseDRoot: path.join(study, 'phase_d'), artifactRoot: path.join(study, 'phase_e') };
      const argv = trainArgs({ dose: 10000, view: 'baseline', gridsize: 1 }, roots, trainingSettingsFromSettings(get, { unchecked: true }), trainingThreadsFromSettings(get, { unchecked: true }));
      assert.deepEqual(argv.slice(argv.indexOf('--threads'), argv.indexOf('--threads') + 2), ['--threads', '1']);
      assert.ok(argv.includes('--no-workspace-settings'), 'the copied command does not depend on the files');
      // As a dry run (which takes the same flags but --threads, a run option), from another folder.
      const dry = argv.slice();
      dry[0] = 'dry-run';
      dry.splice(dry.indexOf('--threads'), 2);
      const r = spawnSync(process.execPath, [CLI, ...dry], { cwd: tmp.dir, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const copied = JSON.parse(fs.readFileSync(path.join(jobDir, 'run-config.json'), 'utf8'));
      const { settingsSources, ...same } = fromFiles;
      assert.deepEqual(settingsSources, [vsFile]);
      assert.equal(copied.settingsSources, undefined);
      assert.deepEqual(copied, JSON.parse(JSON.stringify(same)));
    });

    it('reconstruct and list take the reconstruction settings, the listed algorithms and the Phase F root from the files', () => {
      write(ownFile, JSON.stringify({ ptychoStudy: { phaseFRoot: 'iterative', reconstruction: { iterations: 2, algorithms: ['rpie'], momentum: 0.5 } } }));
      const list = cli(['list', '--workspace', study, '--json']);
      assert.equal(list.code, 0, list.err);
      const listed = JSON.parse(list.out) as { phaseFRoot: string; jobs: { kind: string; algorithm?: string }[] };
      assert.equal(listed.phaseFRoot, path.join(study, 'iterative'));
      assert.deepEqual([...new Set(listed.jobs.filter((j) => j.kind === 'reconstruct').map((j) => j.algorithm))], ['rpie']);
      const r = cli(['reconstruct', '--workspace', study, '--view', 'baseline', '--algorithm', 'epie', '--json']);
      assert.equal(r.code, 0, r.err + r.out);
      const m = JSON.parse(fs.readFileSync(path.join(study, 'iterative', 'dose_10000', 'baseline', 'test', 'epie', 'manifest.json'), 'utf8'));
      assert.equal(m.status, 'succeeded');
      assert.deepEqual([m.config.settings.iterations, m.config.settings.momentum], [2, 0.5]);
      assert.deepEqual(m.config.settingsSources, [ownFile]);
    });

    it('relative study roots in a file resolve in the workspace folder; a root flag replaces the files\' Phase C/D roots', () => {
      const parent = tmp.dir;
      const file = write(path.join(parent, 'ptycho-study.json'), JSON.stringify({ 'ptychoStudy.phaseCRoot': 'study/phase_c', 'ptychoStudy.artifactRoot': 'elsewhere' }));
      try {
        const r = cli(['list', '--workspace', parent, '--json', '--no-workspace-settings']);
        assert.equal(r.code, 0, r.err);
        assert.notEqual((JSON.parse(r.out) as { artifactRoot: string }).artifactRoot, path.join(parent, 'elsewhere'));
        const withFile = cli(['list', '--workspace', parent, '--json']);
        assert.equal(withFile.code, 0, withFile.err);
        const l = JSON.parse(withFile.out) as { phaseCRoot: string; phaseDRoot: string | null; artifactRoot: string };
        assert.deepEqual([l.phaseCRoot, l.phaseDRoot, l.artifactRoot], [path.join(study, 'phase_c'), null, path.join(parent, 'elsewhere')]);
        const given = spawnSync(process.execPath, [CLI, 'list', '--phase-d-root', path.join(study, 'phase_d'), '--json'], { cwd: parent, encoding: 'utf8', timeout: 60_000 });
        assert.equal(given.status, 0, given.stderr);
        const g = JSON.parse(given.stdout) as { phaseCRoot: string | null; phaseDRoot: string; artifactRoot: string };
        assert.deepEqual([g.phaseCRoot, g.phaseDRoot, g.artifactRoot], [null, path.join(study, 'phase_d'), path.join(parent, 'elsewhere')]);
      } finally {
        fs.rmSync(file);
      }
    });

    it('submit takes the slurm.* options from the files, a flag beating them (--dry-run: nothing submitted)', () => {
      write(ownFile, JSON.stringify({ ptychoStudy: { slurm: { partition: 'gpu', time: '00:10:00', cpusPerTask: 2 } } }));
      const script = (...args: string[]): string => {
        const r = cli(['submit', '--workspace', study, '--view', 'baseline', '--backend', 'slurm', '--dry-run', '--json', ...args]);
        assert.equal(r.code, 0, r.err + r.out);
        return (JSON.parse(r.out) as { script: string }).script;
      };
      const s = script();
      for (const line of ['#SBATCH --partition=gpu', '#SBATCH --time=00:10:00', '#SBATCH --cpus-per-task=2']) assert.ok(s.includes(line), `${line} in\n${s}`);
      const flagged = script('--partition', 'cpu');
      assert.ok(flagged.includes('#SBATCH --partition=cpu') && flagged.includes('#SBATCH --time=00:10:00'), flagged);
      assert.ok(!script('--no-workspace-settings').includes('--partition='));
    });

    it('--help documents the files and their precedence', () => {
      const top = cli(['--help']);
      assert.match(top.out, /Settings files:/);
      assert.match(top.out.replace(/\s+/g, ' '), /Precedence: command-line flags > ptycho-study\.json > \.vscode\/settings\.json > defaults/);
      for (const c of ['list', 'dry-run', 'train', 'submit', 'reconstruct', 'report']) assert.match(cli([c, '--help']).out, /--no-workspace-settings/, c);
    });
  });
});
