// Discovery in a folder that holds more than one study: Phase C and Phase D roots are paired by belonging
// together (siblings first), one study is chosen deterministically, and the others are reported — in the
// layout (`ambiguity`, `notes`), in `list`, `list --json`, `dry-run` — never mixed silently.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { discoverStudy, findStudyRoots, listJobs, resolveStudyRoot, StudyNotFoundError } from '../../src/core/study';
import { makeStudy } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

const small = { dataset: { count: 6 } };
const CLI = path.join(repoRoot, 'dist', 'cli.js');

describe('study discovery with more than one study', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('two complete studies: the first (shallowest, then alphabetical) is used and the other is reported', async () => {
    await makeStudy(path.join(dir, 'beta'), { ...small, doses: [100000], views: ['dense'] });
    await makeStudy(path.join(dir, 'alpha'), { ...small, doses: [1000], views: ['dense'] });
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'alpha', 'phase_c'));
    assert.equal(layout.phaseDRoot, path.join(dir, 'alpha', 'phase_d'));
    assert.deepEqual(layout.doses.map((d) => d.dose), [1000], 'no dose of the other study is mixed in');
    const a = layout.ambiguity;
    assert.ok(a, 'the ambiguity is reported');
    assert.deepEqual(a.chosen, { folder: path.join(dir, 'alpha'), phaseCRoot: path.join(dir, 'alpha', 'phase_c'), phaseDRoot: path.join(dir, 'alpha', 'phase_d') });
    assert.deepEqual(a.others, [{ folder: path.join(dir, 'beta'), phaseCRoot: path.join(dir, 'beta', 'phase_c'), phaseDRoot: path.join(dir, 'beta', 'phase_d') }]);
    assert.equal(a.message.includes('\n'), false, 'one line');
    assert.match(a.message, /2 studies/);
    assert.ok(a.message.includes(path.join(dir, 'alpha')) && a.message.includes(path.join(dir, 'beta')), a.message);
    assert.match(a.message, /--phase-c-root/);
    assert.match(a.message, /--workspace/);
    assert.match(a.message, /Choose Study Root…/);
    assert.ok(layout.notes.includes(a.message), 'the tree shows notes: the ambiguity is one of them');
    // Deterministic: the same answer whatever order the folders were made in.
    assert.deepEqual((await discoverStudy({ workspace: dir })).ambiguity, a);
  });

  it('pairs a Phase D with the Phase C beside it, not with a conventionally named one of another study', async () => {
    await makeStudy(path.join(dir, 'one'), { ...small, doses: [1000], views: ['dense'] });
    fs.renameSync(path.join(dir, 'one', 'phase_d'), path.join(dir, 'one', 'views')); // not named phase_d
    await makeStudy(path.join(dir, 'two'), { ...small, doses: [100000], views: ['sparse'], skip: ['100000/baseline'] }); // Phase D only
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'one', 'phase_c'));
    assert.equal(layout.phaseDRoot, path.join(dir, 'one', 'views'), 'the sibling, not two/phase_d');
    assert.deepEqual(layout.doses.map((d) => d.dose), [1000]);
    assert.deepEqual(layout.ambiguity?.others, [{ folder: path.join(dir, 'two'), phaseDRoot: path.join(dir, 'two', 'phase_d') }]);
    const found = await findStudyRoots(dir);
    assert.deepEqual(found.studies.map((s) => [s.phaseCRoot, s.phaseDRoot]), [
      [path.join(dir, 'one', 'phase_c'), path.join(dir, 'one', 'views')],
      [undefined, path.join(dir, 'two', 'phase_d')],
    ]);
  });

  it('a Phase C-only study beside a Phase D-only one (different parents) is not paired with it silently', async () => {
    await makeStudy(path.join(dir, 'a'), { ...small, doses: [1000], views: [] }); // Phase C only
    await makeStudy(path.join(dir, 'b'), { ...small, doses: [1000], views: ['dense'], skip: ['1000/baseline'] }); // Phase D only
    assert.equal(fs.existsSync(path.join(dir, 'b', 'phase_c')), false);
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'a', 'phase_c'));
    assert.equal(layout.phaseDRoot, undefined, 'b/phase_d belongs to another folder');
    assert.equal(layout.hasPhaseD, false);
    assert.deepEqual((await listJobs(layout)).map((j) => j.id), ['dose_1000/baseline/gs1']);
    const a = layout.ambiguity;
    assert.ok(a);
    assert.deepEqual(a.chosen, { folder: path.join(dir, 'a'), phaseCRoot: path.join(dir, 'a', 'phase_c') });
    assert.deepEqual(a.others, [{ folder: path.join(dir, 'b'), phaseDRoot: path.join(dir, 'b', 'phase_d') }]);
    assert.ok(a.message.includes(path.join(dir, 'b', 'phase_d')), a.message);
  });

  it('nested studies: the shallowest one is used and the nested one is reported', async () => {
    await makeStudy(dir, { ...small, doses: [1000], views: ['dense'] });
    await makeStudy(path.join(dir, 'archive', '2023'), { ...small, doses: [10000], views: ['dense'] });
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'phase_c'));
    assert.equal(layout.phaseDRoot, path.join(dir, 'phase_d'));
    assert.deepEqual(layout.doses.map((d) => d.dose), [1000]);
    assert.deepEqual(layout.ambiguity?.chosen, { folder: dir, phaseCRoot: path.join(dir, 'phase_c'), phaseDRoot: path.join(dir, 'phase_d') });
    assert.deepEqual(layout.ambiguity?.others.map((s) => s.folder), [path.join(dir, 'archive', '2023')]);
  });

  it('a study whose Phase D lies in a subfolder of its own folder is one study; a second Phase C there is another', async () => {
    await makeStudy(path.join(dir, 's'), { ...small, doses: [1000], views: ['dense'] });
    fs.mkdirSync(path.join(dir, 's', 'results'));
    fs.renameSync(path.join(dir, 's', 'phase_d'), path.join(dir, 's', 'results', 'phase_d'));
    const single = await discoverStudy({ workspace: dir });
    assert.equal(single.phaseCRoot, path.join(dir, 's', 'phase_c'));
    assert.equal(single.phaseDRoot, path.join(dir, 's', 'results', 'phase_d'));
    assert.equal(single.ambiguity, undefined);
    assert.ok(single.notes.some((n) => n.includes('not in the same folder')), single.notes.join('\n'));
    // The Phase D beside a second Phase C belongs to that one (siblings win over a parent's sibling).
    await makeStudy(path.join(dir, 's', 'results'), { ...small, doses: [10000], views: [] });
    const two = await discoverStudy({ workspace: dir });
    assert.equal(two.phaseCRoot, path.join(dir, 's', 'phase_c'));
    assert.equal(two.phaseDRoot, undefined);
    assert.deepEqual(two.ambiguity?.others, [{ folder: path.join(dir, 's', 'results'), phaseCRoot: path.join(dir, 's', 'results', 'phase_c'), phaseDRoot: path.join(dir, 's', 'results', 'phase_d') }]);
  });

  it('one study: no note, no ambiguity', async () => {
    await makeStudy(path.join(dir, 'data'), { ...small, doses: [1000], views: ['dense'] });
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'data', 'phase_c'));
    assert.equal(layout.phaseDRoot, path.join(dir, 'data', 'phase_d'));
    assert.equal(layout.ambiguity, undefined);
    assert.deepEqual(layout.notes, []);
    const found = await findStudyRoots(dir);
    assert.equal(found.studies.length, 1);
  });

  it('an explicit study root (Choose Study Root…) picks that study, given as its folder or one of its roots', async () => {
    await makeStudy(path.join(dir, 'alpha'), { ...small, doses: [1000], views: ['dense'] });
    await makeStudy(path.join(dir, 'beta'), { ...small, doses: [100000], views: ['dense'] });
    const beta = { phaseCRoot: path.join(dir, 'beta', 'phase_c'), phaseDRoot: path.join(dir, 'beta', 'phase_d') };
    for (const root of [path.join(dir, 'beta'), beta.phaseCRoot, beta.phaseDRoot]) {
      const roots = await resolveStudyRoot(root);
      assert.deepEqual({ phaseCRoot: roots.phaseCRoot, phaseDRoot: roots.phaseDRoot }, beta, root);
      const layout = await discoverStudy({ studyRoot: root });
      assert.equal(layout.phaseCRoot, beta.phaseCRoot);
      assert.equal(layout.phaseDRoot, beta.phaseDRoot);
      assert.deepEqual(layout.doses.map((d) => d.dose), [100000]);
      assert.equal(layout.artifactRoot, path.join(dir, 'beta', 'phase_e'));
      assert.equal(layout.ambiguity, undefined, root);
    }
    await assert.rejects(resolveStudyRoot(path.join(dir, 'nope')), StudyNotFoundError);
    fs.mkdirSync(path.join(dir, 'empty'));
    await assert.rejects(discoverStudy({ studyRoot: path.join(dir, 'empty') }), /No study found in .*empty/);
  });

  describe('CLI', () => {
    before(function () {
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run node esbuild.mjs first`);
    });
    const cli = (args: string[]): { code: number; out: string; err: string } => {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
    };

    it('list, list --json and dry-run report the other study; --workspace on one study has no note', async () => {
      await makeStudy(path.join(dir, 'alpha'), { doses: [1000], views: ['dense'] });
      await makeStudy(path.join(dir, 'beta'), { doses: [100000], views: ['dense'] });
      const list = cli(['list']);
      assert.equal(list.code, 0, list.err);
      const notes = list.out.split('\n').filter((l) => l.startsWith('note: '));
      assert.equal(notes.length, 1, list.out);
      assert.match(notes[0], /2 studies/);
      assert.ok(notes[0].includes(path.join(dir, 'beta')), notes[0]);
      assert.doesNotMatch(list.out, /dose_100000/);

      const json = cli(['list', '--json']);
      assert.equal(json.code, 0, json.err);
      const doc = JSON.parse(json.out);
      assert.equal(doc.phaseCRoot, path.join(dir, 'alpha', 'phase_c'));
      assert.equal(doc.ambiguity.chosen.folder, path.join(dir, 'alpha'));
      assert.deepEqual(doc.ambiguity.others, [{ folder: path.join(dir, 'beta'), phaseCRoot: path.join(dir, 'beta', 'phase_c'), phaseDRoot: path.join(dir, 'beta', 'phase_d') }]);
      assert.ok(doc.notes.includes(doc.ambiguity.message));

      const dry = cli(['dry-run', '--view', 'baseline']);
      assert.equal(dry.code, 0, dry.out + dry.err);
      assert.equal(dry.err.split('\n').filter((l) => /^note: .*2 studies/.test(l)).length, 1, dry.err);
      const dryJson = cli(['dry-run', '--view', 'baseline', '--json']);
      assert.equal(dryJson.code, 0, dryJson.err);
      JSON.parse(dryJson.out); // the note goes to stderr: stdout stays one JSON document
      assert.match(dryJson.err, /^note: .*2 studies/m);

      const one = cli(['list', '--json', '--workspace', path.join(dir, 'beta')]);
      assert.equal(one.code, 0, one.err);
      const oneDoc = JSON.parse(one.out);
      assert.equal(oneDoc.phaseCRoot, path.join(dir, 'beta', 'phase_c'));
      assert.equal(oneDoc.ambiguity, null);
      assert.deepEqual(oneDoc.notes, []);
    });
  });
});
