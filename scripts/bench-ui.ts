// UI benchmark of the NPZ preview (npm run bench:ui [-- --quick] [--keep]): writes a ~2.5 GB stored .npz
// (diffraction float32 n × 128 × 128 streamed with NpzWriter, plus scan positions and _metadata) into a temp
// folder, opens it in the NPZ preview inside a real VS Code (code-server + headless Chromium, as in the UI
// checks) and prints the time from opening to the first pixels on the canvas, and the time to show frames
// deep inside the file. Only the headers and the shown frame are read, so the numbers should not grow with
// the file size. Then (section 3, alone with --recon-only) the reconstruction viewer on a 1024 × 1024 complex
// object: message → pixels of amplitude and phase, and (section 4) the job panel's Reconstruction slider moved
// through 50 epoch previews: slider → image drawn per frame. Prints numbers, asserts nothing. Needs
// scripts/setup-vscode-host.sh to have run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ndarray, NpzWriter, scalarString } from '../src/core/npy';
import { BENCH_RECON_JOB, writeReconStudy } from './bench-recon-study';

const quick = process.argv.includes('--quick');
const keep = process.argv.includes('--keep');
/** Only the reconstruction-viewer section (no 2.5 GB file). */
const reconOnly = process.argv.includes('--recon-only');
const N = 128;
const FRAME_BYTES = N * N * 4;
const TARGET_BYTES = quick ? 250e6 : 2.5e9;
const frames = Math.round(TARGET_BYTES / FRAME_BYTES);

function findRepoRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

const repoRoot = findRepoRoot(__dirname);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-bench-ui-'));
let cleaned = false;
function cleanup(): void {
  if (cleaned || keep) return;
  cleaned = true;
  fs.rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { cleanup(); process.exit(130); });

/** 64 frames of a speckle-like diffraction pattern (a bright centre, Poisson-ish noise), cycled through the stack. */
function patternBlock(): Float32Array {
  const block = new Float32Array(64 * N * N);
  let s = 0x9e3779b9;
  for (let f = 0; f < 64; f++) {
    for (let y = 0; y < N; y++) {
      for (let x = 0; x < N; x++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
        const r2 = ((x - N / 2) ** 2 + (y - N / 2) ** 2) / (N * N / 64);
        const mean = 2000 * Math.exp(-r2) * (1 + 0.5 * Math.cos((x * (f + 3)) / 9) * Math.sin(y / 7));
        block[(f * N + y) * N + x] = Math.floor(mean * ((s >>> 0) / 2 ** 32) * 2);
      }
    }
  }
  return block;
}

async function writeBig(file: string): Promise<number> {
  const t0 = performance.now();
  const block = new Uint8Array(patternBlock().buffer);
  const w = await NpzWriter.create(file);
  try {
    await w.addRawData('diffraction', '<f4', [frames, N, N], (function* () {
      let left = frames * FRAME_BYTES;
      while (left > 0) {
        const k = Math.min(left, block.length);
        yield block.subarray(0, k);
        left -= k;
      }
    })());
    const side = Math.ceil(Math.sqrt(frames));
    await w.add('xcoords', ndarray('<f8', [frames], Float64Array.from({ length: frames }, (_, i) => (i % side) * 4 + Math.sin(i) )));
    await w.add('ycoords', ndarray('<f8', [frames], Float64Array.from({ length: frames }, (_, i) => Math.floor(i / side) * 4 + Math.cos(i))));
    await w.add('_metadata', scalarString(JSON.stringify({ study: 'bench-ui', frames, N, note: 'synthetic diffraction for the NPZ preview benchmark' })));
    await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
  return performance.now() - t0;
}

function tryDropCaches(): boolean {
  try {
    fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch {
    return false;
  }
}

interface BenchResult {
  ok: boolean;
  error?: string;
  fileBytes: number;
  frames: number;
  member: string;
  opens: { round: number; commandToPixelsMs: number; openToPixelsMs: number; headersMs: number; page: Record<string, number> }[];
  frameSteps: { frame: number; selectMs: number; hostReadMs: number }[];
  vscode: string;
  scrub?: { epochs: number; firstPass: number[]; secondPass: number[] };
  recon?: { round: number; commandToPixelsMs: number; requestMs: number; messageToPixelsMs: number; messageToAllMs?: number; hostReadMs?: number; width?: number; height?: number; stagesMs?: Record<string, number> }[];
}

async function main(): Promise<void> {
  const suite = path.join(repoRoot, 'out', 'test', 'vscode', 'bench', 'index.js');
  if (!fs.existsSync(suite)) throw new Error(`${suite} is missing: run node esbuild.mjs first`);
  const cs = await import(pathToFileURL(path.join(repoRoot, 'test', 'vscode', 'codeServer.mjs')).href);
  console.log(`bench-ui${quick ? ' (--quick: 10× smaller)' : ''} — node ${process.version}, ${os.cpus().length} CPUs, temp ${root}`);
  const file = path.join(root, 'big_scan.npz');
  if (!reconOnly) {
    const writeMs = await writeBig(file);
    const size = fs.statSync(file).size;
    console.log(`\n[setup] wrote ${file}: ${(size / 1e9).toFixed(2)} GB (diffraction ${frames} × ${N} × ${N} float32, stored) in ${(writeMs / 1000).toFixed(1)} s`);
  }
  // The reconstruction viewer's study: a 1024 × 1024 complex object as a trained job leaves it.
  await writeReconStudy(path.join(root, 'recon-study'), path.join(repoRoot, 'dist', 'cli.js'));
  console.log(`[setup] wrote a study whose ${BENCH_RECON_JOB} has a 1024 × 1024 complex64 reconstruction (with ground truth and weight)`);
  const dropped = tryDropCaches();
  console.log(`[setup] page cache ${dropped ? 'dropped (cold reads)' : 'not dropped (no permission): reads may come from memory'}`);

  const results = path.join(root, 'bench-ui.json');
  const runDir = fs.mkdtempSync(path.join(root, 'cs-'));
  const tStart = performance.now();
  const stamp = (what: string): void => {
    if (process.env.PTYCHO_BENCH_VERBOSE) console.log(`  [${((performance.now() - tStart) / 1000).toFixed(1)} s] ${what}`);
  };
  const server = await cs.startCodeServer({ runDir, env: { ...(reconOnly ? {} : { PTYCHO_BENCH_FILE: file }), PTYCHO_BENCH_RECON_JOB: BENCH_RECON_JOB, PTYCHO_BENCH_RESULTS: results, PTYCHO_BENCH_ROUNDS: '3' } });
  stamp('code-server up');
  const browser = await cs.launchBrowser();
  stamp('browser up');
  try {
    const exited = new Promise((resolve) => browser.page.exposeFunction('codeAutomationExit', (code: number) => resolve(code)));
    await browser.page.exposeFunction('codeAutomationLog', () => undefined);
    await browser.page.goto(server.url({ folder: root, testsPath: suite }));
    // The results file is the reliable channel out of the extension host; stop as soon as it is complete.
    const written = (async () => {
      while (!fs.existsSync(results)) await new Promise((r) => setTimeout(r, 250).unref());
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([exited, written, new Promise((r) => (timer = setTimeout(r, 300_000)))]);
    clearTimeout(timer);
    stamp('results written');
  } finally {
    await browser.close();
    server.stop();
    stamp('closed');
  }
  if (!fs.existsSync(results)) throw new Error(`the benchmark wrote no results (code-server log: ${path.join(runDir, 'server.log')})`);
  const r = JSON.parse(fs.readFileSync(results, 'utf8')) as BenchResult;
  if (!r.ok) throw new Error(`the benchmark failed inside VS Code: ${r.error}`);
  const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  if (!reconOnly) printNpz(r, ms);
  console.log(`\n3. reconstruction viewer on a 1024 × 1024 complex object (amplitude and phase with colormaps; target: message → pixels under 100 ms)`);
  for (const o of r.recon ?? []) {
    console.log(`   round ${o.round}: message → pixels ${ms(o.messageToPixelsMs)} (the page: decoding the ArrayBuffers, amplitude and phase through their colormaps onto the canvases); ` +
      `all six images ${o.messageToAllMs !== undefined ? ms(o.messageToAllMs) : '—'}; readImages request ${ms(o.requestMs)} (host read ${o.hostReadMs !== undefined ? ms(o.hostReadMs) : '—'}, ${o.width}×${o.height}); command → first pixels ${ms(o.commandToPixelsMs)}`);
    if (o.stagesMs) console.log(`      stages: ${Object.entries(o.stagesMs).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`);
  }
  if (r.scrub) {
    const stat = (v: number[]): string => {
      const s = [...v].sort((a, b) => a - b);
      return `median ${ms(s[Math.floor(s.length / 2)] ?? NaN)}, 95th percentile ${ms(s[Math.floor(0.95 * (s.length - 1))] ?? NaN)}, max ${ms(s.at(-1) ?? NaN)}`;
    };
    console.log(`\n4. the job panel's Reconstruction slider through ${r.scrub.epochs} epoch previews (slider moved → image drawn; target under 50 ms per frame)`);
    console.log(`   first pass (each preview read from the host): ${stat(r.scrub.firstPass)}`);
    console.log(`   second pass (from the page's cache):          ${stat(r.scrub.secondPass)}`);
  }
  console.log(`\n(first round includes loading the webview bundle cold; a UI test never asserts these)`);
  if (keep) console.log(`kept ${root}`);
}

function printNpz(r: BenchResult, ms: (v: number) => string): void {
  console.log(`\n1. open → first pixels of ${r.member}[0] in the NPZ preview (${(r.fileBytes / 1e9).toFixed(2)} GB file, ${r.frames} frames; VS Code ${r.vscode})`);
  for (const o of r.opens) {
    console.log(`   round ${o.round}: ${ms(o.openToPixelsMs)} from openCustomDocument to the page's "rendered" (${ms(o.commandToPixelsMs)} from the openWith command; reading the headers ${ms(o.headersMs)}); ` +
      `page: script started ${ms(o.page.scriptStartMs)}, ready ${ms(o.page.readyMs)}, frame request ${ms(o.page.requestMs)}, draw ${ms(o.page.drawMs)}, pixels at ${ms(o.page.drawnMs)} after the page began`);
  }
  console.log(`\n2. showing frames deep in the file (select → pixels; the page's request time in brackets)`);
  for (const f of r.frameSteps) console.log(`   frame ${f.frame}: ${ms(f.selectMs)} (${ms(f.hostReadMs)})`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
}).finally(cleanup);
