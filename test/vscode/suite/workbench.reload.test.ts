// A window reload during a training run (issue 14), in two halves driven by test/vscode/run-reload.mjs: the first
// extension host starts a detached run from the tree's Train command and records it; the runner reloads the browser
// page — the real VS Code window reload, which ends that extension host — and the second extension host finds the
// run still going and re-attached from its job folder (tree with step-level progress, status bar, job panel with its
// live log and loss chart), then cancels it. Registered only when the runner sets PTYCHO_RELOAD_STATE.
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { LiveRun } from '../../../src/extension/runs';
import type { JobPanelViewState } from '../../../src/webview/protocol';
import { activateForShortTraining, EXTENSION_ID, until as untilShort } from './util';

const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 120_000): Promise<T> => untilShort(what, probe, ms);
const STATE = process.env.PTYCHO_RELOAD_STATE;
const ID = 'dose_10000/baseline/gs1';

interface ReloadState {
  dir: string;
  artifactDir: string;
  pid: number;
  runId: string;
  stepBeforeReload: number;
  /** The first window's extension host process. */
  extensionHost: number;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

if (STATE) {
  describe('a window reload during a training run', function () {
    this.timeout(300_000);
    const cfg = () => vscode.workspace.getConfiguration('ptychoStudy');
    let api: WorkbenchApi;
    const job = () => api.model.allJobs().find((j) => j.id === ID);
    const refreshed = async (): Promise<void> => {
      await api.refresh();
      await api.whenIdle();
    };

    if (!fs.existsSync(STATE)) {
      it('before the reload: Train starts a detached run (the default) that is training', async () => {
        api = await activateForShortTraining();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-reload-'));
        const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
        await new Promise<void>((resolve, reject) => {
          const child = fork(cli, ['simulate', '--out', dir, '--n-images', '160', '--doses', '1e4', '--json'], { stdio: 'pipe' });
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulate exited ${code}`))));
        });
        for (const [k, v] of [['phaseCRoot', path.join(dir, 'phase_c')], ['phaseDRoot', path.join(dir, 'phase_d')], ['artifactRoot', path.join(dir, 'phase_e')], ['training.epochs', 500]] as const) {
          await cfg().update(k, v, vscode.ConfigurationTarget.Workspace);
        }
        await refreshed();
        assert.notEqual(cfg().get('training.runDetached'), false, 'runs are detached by default');
        const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', ID);
        const step = await until('training steps', async () => {
          await refreshed();
          const p = api.model.liveProgress(job()!)?.progress;
          return run.handle && p && p.step >= 2 ? p.step : undefined;
        });
        const state: ReloadState = { dir, artifactDir: job()!.artifactDir, pid: run.handle!.pid!, runId: run.handle!.runId, stepBeforeReload: step, extensionHost: process.pid };
        fs.writeFileSync(STATE, JSON.stringify(state));
        // The runner reloads the window as soon as this extension host reports its results.
      });
    } else {
      it('after the reload: the run is still going, re-attached from its folder (tree, status bar, job panel), and Cancel stops it', async () => {
        const st = JSON.parse(fs.readFileSync(STATE, 'utf8')) as ReloadState;
        api = await vscode.extensions.getExtension<WorkbenchApi>(EXTENSION_ID)!.activate();
        try {
          await refreshed();
          assert.notEqual(process.pid, st.extensionHost, 'a new extension host');
          await until('the first window\'s extension host gone', () => !alive(st.extensionHost) || undefined, 60_000);
          assert.ok(alive(st.pid), `the worker (pid ${st.pid}) survived the reload`);
          assert.equal(api.runs.all().length, 0, 'this window started nothing: the run is not a handle of it');
          // The tree: running, with step-level progress from events.jsonl that moves on after the reload.
          const moved = await until('progress past the step before the reload, in the tree', async () => {
            await refreshed();
            const j = job();
            const p = j ? api.model.liveProgress(j)?.progress : undefined;
            return j?.state === 'running' && j.run?.manifest.runId === st.runId && p && p.step > st.stepBeforeReload ? p : undefined;
          });
          assert.equal(moved.epochs, 500);
          let description = '';
          for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === ID) description = String(api.tree.getTreeItem(n).description);
          assert.match(description, /^running · epoch \d+\/500 · step \d+\/\d+ · loss \S+/);
          assert.deepEqual(api.runs.elsewhere().map((o) => o.id), [ID], 'the status bar counts it');
          // The job panel re-attaches: running, its log and chart growing from the files.
          await vscode.commands.executeCommand('ptychoStudy.openLog', ID);
          const jp = await api.jobPanels.panels.whenReady(ID);
          const first = await until('the panel showing the running job with chart points', async () => {
            const s = (await jp.host.sendRequest('getViewState', {})) as JobPanelViewState;
            return s.state === 'running' && s.chart.steps > 0 ? s : undefined;
          });
          await until('the panel\'s log and chart growing', async () => {
            const s = (await jp.host.sendRequest('getViewState', {})) as JobPanelViewState;
            return s.lines > first.lines || s.chart.steps > first.chart.steps || undefined;
          }, 60_000);
          // Cancel from the re-attached window: SIGINT to the recorded worker; it checkpoints and records cancelled.
          assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancel', ID), true);
          await until('cancelled', async () => {
            await refreshed();
            return job()?.state === 'cancelled' || undefined;
          });
          await until('the worker gone', () => !alive(st.pid) || undefined, 30_000);
          assert.ok(fs.existsSync(path.join(st.artifactDir, 'checkpoint.npz')), 'its checkpoint is kept');
          const panel = await until('the panel showing cancelled', async () => {
            await jp.flush();
            const s = (await jp.host.sendRequest('getViewState', {})) as JobPanelViewState;
            return s.state === 'cancelled' ? s : undefined;
          }, 30_000);
          assert.ok(panel.enabledActions.includes('resume'), 'Resume offered');
        } finally {
          if (alive(st.pid)) process.kill(st.pid, 'SIGKILL');
          for (const k of ['phaseCRoot', 'phaseDRoot', 'artifactRoot', 'training.epochs']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
          await vscode.commands.executeCommand('workbench.action.closeAllEditors');
        }
      });
    }
  });
}
