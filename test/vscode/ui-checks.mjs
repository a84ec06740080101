// UI checks in a real VS Code (code-server) driven by Playwright + Debian Chromium, with screenshots kept
// in $ARTIFACTS_DIR/screenshots. Each step is one check; prints "N passed, N failed".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, startCodeServer, launchBrowser } from './codeServer.mjs';
import { jobPanelChecks } from './ui/jobPanel.mjs';
import { reconstructionChecks } from './ui/reconstruction.mjs';
import { phaseFChecks } from './ui/phaseF.mjs';
import { runCompareChecks } from './ui/runCompare.mjs';

const ART = process.env.ARTIFACTS_DIR ?? path.join(repoRoot, '.artifacts');
const SHOTS = path.join(ART, 'screenshots');
fs.rmSync(SHOTS, { recursive: true, force: true });
fs.mkdirSync(SHOTS, { recursive: true });
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-cs-ui-'));
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-ws-ui-'));
// A small demo keeps generation quick; the setting is the one users have.
fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'ptychoStudy.demo.nImages': 96 }));

const results = [];
let server = await startCodeServer({ runDir });
let { page, close } = await launchBrowser();
page.setDefaultTimeout(30_000);

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    results.push({ name, ok: false, err: String(err?.stack ?? err) });
    console.log(`  ✗ ${name}\n      ${String(err?.message ?? err).split('\n').join('\n      ')}`);
    await page.screenshot({ path: path.join(SHOTS, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}.png`) }).catch(() => undefined);
  }
}
const shot = (name) => page.screenshot({ path: path.join(SHOTS, name) });
const sidebar = () => page.locator('.part.sidebar');
const row = (text) => sidebar().locator('.monaco-list-row', { hasText: text });

// The default sidebar truncates job descriptions; drag its sash so screenshots show them whole.
async function widenSidebar(width = 600) {
  const box = await sidebar().boundingBox();
  if (!box || box.width >= width) return;
  const x = box.x + box.width + 1;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + (width - box.width) / 2, y, { steps: 5 });
  await page.mouse.move(box.x + width, y, { steps: 5 });
  await page.mouse.up();
}

// Hovers a row until its tooltip shows: a refresh re-renders rows and can drop a pending hover.
async function hoverTooltip(rowLocator, text) {
  const tip = page.locator('.monaco-hover, .workbench-hover', { hasText: text }).first();
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.mouse.move(900, 850);
    await page.waitForTimeout(300);
    await rowLocator.hover();
    try {
      await tip.waitFor({ timeout: 4_000 });
      return;
    } catch { /* the row was re-rendered: hover again */ }
  }
  await tip.waitFor({ timeout: 1_000 });
}

async function runCommand(title) {
  const input = page.locator('.quick-input-widget input');
  // The palette can close again right after F1 when a previous Escape or a closing editor takes the focus (the
  // input turns inert, then hidden): reopen it a few times before failing.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${title}`, { timeout: 10_000 });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(500);
    }
  }
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}

// The page inside the visible webview (VS Code nests it: iframe.webview.ready → #active-frame).
async function webviewFrame(selector = '#app', timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const outer of await page.locator('iframe.webview.ready').all()) {
      try {
        if (!(await outer.isVisible().catch(() => false))) continue;
        const outerFrame = await (await outer.elementHandle())?.contentFrame();
        const inner = await (await outerFrame?.$('#active-frame'))?.contentFrame();
        if (inner && (await inner.$(selector))) return inner;
      } catch { /* a frame torn down while we looked (a tab just hidden or reloaded): look again */ }
    }
    if (Date.now() > deadline) throw new Error(`no visible webview showing ${selector}`);
    await page.waitForTimeout(200);
  }
}

// Pixels of a canvas inside the webview: how much is drawn, how many colours, and a checksum.
async function canvasPixels(frame, selector) {
  return frame.evaluate((sel) => {
    const c = document.querySelector(sel);
    if (!c || c.width === 0) return { drawn: 0, colors: 0, sum: 0, width: 0 };
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    let sum = 0;
    const colors = new Set();
    for (let i = 0; i < d.length; i += 16) {
      if (d[i + 3] > 0) drawn++;
      if (colors.size < 512) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      sum = (sum * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007;
    }
    return { drawn: drawn / (d.length / 16), colors: colors.size, sum, width: c.width };
  }, selector);
}

const jobsIcon = () => page.locator('.part.activitybar [aria-label*="PtychoPINN Study"]').first();
async function showJobs() {
  if (!(await sidebar().isVisible()) || !(await row('dose 1e3').first().isVisible().catch(() => false))) await jobsIcon().click();
  await row('dose 1e3').first().waitFor();
}
async function toggleSidebar() {
  await jobsIcon().click();
  await page.waitForTimeout(300);
}

// Right-clicks a row and picks a context-menu entry (retried: a tree refresh can re-render the row under
// the pointer and close the menu).
async function contextMenu(rowLocator, item) {
  const entry = page.locator('.context-view .monaco-menu .action-item', { hasText: item }).first();
  for (let attempt = 0; ; attempt++) {
    try {
      await rowLocator.click({ button: 'right', timeout: 10_000 });
      await entry.waitFor({ timeout: 5_000 });
      await page.waitForTimeout(150); // the menu settles (it ignores clicks while it animates in)
      await entry.hover({ timeout: 5_000 });
      await entry.click({ timeout: 5_000 });
      await page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: 3_000 });
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(300);
      if (attempt >= 3) throw err;
    }
  }
}

try {
  await step('workbench loads with the extension', async () => {
    await page.goto(server.url({ folder: workspace }));
    await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
  });

  await step('activity-bar icon opens the Jobs view with the welcome content', async () => {
    const icon = page.locator('.part.activitybar [aria-label*="PtychoPINN Study"]').first();
    await icon.waitFor({ timeout: 60_000 });
    await icon.click();
    await widenSidebar();
    await sidebar().locator('.welcome-view-content', { hasText: 'No PtychoPINN study found' }).waitFor();
    await sidebar().getByRole('button', { name: 'Generate demo study' }).waitFor();
    await shot('01-welcome-view.png');
  });

  await step('Generate demo study fills the tree with dose and job rows', async () => {
    await sidebar().getByRole('button', { name: 'Generate demo study' }).click();
    await row('dose 1e3').waitFor({ timeout: 60_000 });
    for (const t of ['dose 1e4', 'dose 1e5']) await row(t).waitFor();
    await row('baseline (gs1)').first().waitFor();
    await row('sparse (gs2)').first().waitFor();
    await shot('02-tree-ready.png');
  });

  await step('the tree shows missing and invalid states with reasons', async () => {
    const demo = path.join(workspace, 'demo-study');
    fs.rmSync(path.join(demo, 'phase_d', 'dose_1000', 'sparse'), { recursive: true });
    fs.writeFileSync(path.join(demo, 'phase_d', 'dose_100000', 'dense', 'dense_train.npz'), 'not a zip');
    // 'invalid data —' matches the job row only (the dose row says "1 invalid data").
    await row('missing data —').first().waitFor({ timeout: 30_000 });
    await row('invalid data —').first().waitFor({ timeout: 30_000 });
    await hoverTooltip(row('invalid data —').first(), 'Not a readable NumPy');
    await shot('03-tree-states-and-tooltip.png');
    await page.mouse.move(700, 800);
  });

  await step('Dry Run from the command palette asks for a job and marks it "dry run"', async () => {
    await runCommand('PtychoPINN Study: Dry Run');
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'dose_1000/baseline/gs1' }).first().waitFor();
    await input.fill('dose_1000/baseline');
    await shot('04-dry-run-quick-pick.png');
    await page.keyboard.press('Enter');
    await row('dry run').first().waitFor({ timeout: 30_000 });
    const manifest = path.join(workspace, 'demo-study', 'phase_e', 'dose_1000', 'baseline', 'gs1', 'manifest.json');
    if (JSON.parse(fs.readFileSync(manifest, 'utf8')).status !== 'dry-run') throw new Error('manifest status is not dry-run');
    await page.locator('[id="status.notifications"]').click().catch(() => undefined);
    await page.locator('.notifications-center', { hasText: 'Dry run of dose_1000/baseline/gs1' }).first().waitFor();
    await shot('05-dry-run-done.png');
    await page.keyboard.press('Escape');
  });

  await step('Get Started: the walkthrough shows the workflow, ticks the steps done, and its buttons run commands', async () => {
    await runCommand('PtychoPINN Study: Get Started with the Study Workbench');
    const editor = page.locator('.gettingStartedContainer');
    await editor.locator('.getting-started-category', { hasText: 'PtychoPINN dose/overlap study' }).first().waitFor({ timeout: 30_000 }).catch(() => undefined);
    const steps = editor.locator('.getting-started-step');
    await steps.first().waitFor({ timeout: 30_000 });
    const titles = await steps.locator('.step-title').allInnerTexts();
    for (const t of ['Open or generate a study', 'Preview a dataset', 'Dry run a job', 'Train', 'Compare']) {
      if (!titles.some((x) => x.trim() === t)) throw new Error(`walkthrough step "${t}" missing: ${titles.join(' | ')}`);
    }
    // VS Code marks a done step aria-checked="true" (its checkbox ticked).
    const stepNamed = (title) => steps.filter({ has: page.locator('.step-title', { hasText: new RegExp(`^${title}$`) }) }).first();
    const done = async (title) => (await stepNamed(title).getAttribute('aria-checked')) === 'true';
    const states = async () => (await steps.evaluateAll((els) => els.map((e) => `${e.querySelector('.step-title')?.textContent}=${e.getAttribute('aria-checked')}`))).join(', ');
    if (await done('Compare')) throw new Error('the compare step is ticked before any comparison');
    // A step's button runs its command (Preview Training Data asks which job), and running it ticks the step.
    await stepNamed('Preview a dataset').click();
    await editor.getByRole('button', { name: 'Preview Training Data' }).click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'dose_1000/baseline/gs1' }).first().waitFor();
    await page.keyboard.press('Escape');
    for (let i = 0; i < 25 && !(await done('Preview a dataset')); i++) await page.waitForTimeout(200);
    if (!(await done('Preview a dataset'))) {
      await shot('05b-walkthrough-failed.png');
      throw new Error(`the preview step is not ticked after its command ran: ${await states()}`);
    }
    console.log(`    steps: ${await states()}`);
    await shot('05b-walkthrough.png');
    await page.keyboard.press('Escape');
    await runCommand('View: Close All Editors');
  });

  await step('the Problems panel lists the invalid file with its rule', async () => {
    await runCommand('View: Focus Problems');
    const problems = page.locator('.markers-panel');
    await problems.waitFor();
    await problems.locator('.monaco-list-row', { hasText: 'dense_train.npz' }).first().waitFor({ timeout: 30_000 });
    await problems.locator('.monaco-list-row', { hasText: 'Not a readable NumPy' }).first().waitFor();
    await shot('06-problems.png');
  });

  // ---- NPZ preview (custom editor ptychoStudy.npzPreview)
  let preview;
  await step('NPZ preview: "Preview Training Data" in the Jobs tree opens the dataset in the preview', async () => {
    await runCommand('View: Close All Editors');
    await page.locator('.part.panel .action-label[aria-label^="Hide Panel"], .part.panel .action-label[aria-label^="Close Panel"]').first().click({ timeout: 3000 }).catch(() => undefined);
    await showJobs();
    const t0 = Date.now();
    await contextMenu(row('baseline (gs1)').first(), 'Preview Training Data');
    preview = await webviewFrame('#members');
    await toggleSidebar(); // give the preview the whole window
    if (await page.locator('.part.auxiliarybar').isVisible().catch(() => false)) await page.keyboard.press('Control+Alt+KeyB');
    await preview.locator('#viewer-a-canvas').waitFor();
    await preview.waitForFunction(() => /frame 0:/.test(document.querySelector('#member-status')?.textContent ?? ''));
    console.log(`    (click to first pixels of diffraction[0]: ${Date.now() - t0} ms, not asserted)`);
    await page.locator('.tab.active', { hasText: 'patched_train.npz' }).waitFor();
  });

  await step('NPZ preview: the member table lists dtype, shape, size and storage', async () => {
    const rowText = async (name) => (await preview.locator(`#members tr[data-member="${name}"]`).innerText()).replace(/\s+/g, ' ');
    const diff = await rowText('diffraction');
    if (!/<f4/.test(diff) || !/\(\d+, 64, 64\)/.test(diff) || !/stored/.test(diff) || !/frames/.test(diff)) throw new Error(`diffraction row: ${diff}`);
    const obj = await rowText('objectGuess');
    if (!/<c8/.test(obj) || !/complex64/.test(obj) || !/image/.test(obj)) throw new Error(`objectGuess row: ${obj}`);
    if (!/plot/.test(await rowText('xcoords'))) throw new Error('xcoords is not a plot');
    if (!/metadata/.test(await rowText('_metadata'))) throw new Error('_metadata row');
    await preview.locator('#metadata .json-tree').waitFor();
    await shot('08-npz-preview.png');
  });

  await step('NPZ preview: the diffraction canvas is drawn (not blank, many colours)', async () => {
    const px = await canvasPixels(preview, '#viewer-a-canvas');
    if (px.drawn < 0.5 || px.colors < 8) throw new Error(`canvas looks blank: ${JSON.stringify(px)}`);
    const bar = await canvasPixels(preview, '#viewer-a-colorbar');
    if (bar.colors < 8) throw new Error(`colorbar looks blank: ${JSON.stringify(bar)}`);
  });

  await step('NPZ preview: the frame slider moves to another frame and the image changes', async () => {
    const before = await canvasPixels(preview, '#viewer-a-canvas');
    const slider = preview.locator('#frame-slider');
    await slider.focus();
    for (let i = 0; i < 5; i++) await slider.press('ArrowRight');
    await preview.waitForFunction(() => /frame 5:/.test(document.querySelector('#member-status')?.textContent ?? ''));
    if ((await preview.locator('#frame-number').inputValue()) !== '5') throw new Error('the number field does not follow the slider');
    const after = await canvasPixels(preview, '#viewer-a-canvas');
    if (after.sum === before.sum) throw new Error('the canvas did not change with the frame');
    await preview.locator('#frame-number').fill('42');
    await preview.locator('#frame-number').press('Enter');
    await preview.waitForFunction(() => /frame 42:/.test(document.querySelector('#member-status')?.textContent ?? ''));
  });

  await step('NPZ preview: hovering the image shows x, y and the value', async () => {
    const canvas = preview.locator('#viewer-a-canvas');
    const box = await canvas.boundingBox();
    await page.mouse.move(box.x + box.width * 0.52, box.y + box.height * 0.48);
    await preview.waitForFunction(() => /x \d+, y \d+ · value/.test(document.querySelector('#viewer-a-readout')?.textContent ?? ''));
    const text = await preview.locator('#viewer-a-readout').innerText();
    console.log(`    readout: ${text}`);
  });

  await step('NPZ preview: the scan-position plot shows every pattern with the current frame highlighted', async () => {
    await preview.locator('#scan-plot-canvas').scrollIntoViewIfNeeded();
    const px = await canvasPixels(preview, '#scan-plot-canvas');
    if (px.colors < 4) throw new Error(`scatter plot looks empty: ${JSON.stringify(px)}`);
    const readout = await preview.locator('#scan-plot-readout').innerText();
    if (!/current: frame 42 · x/.test(readout)) throw new Error(`scan readout: ${readout}`);
    await shot('09-npz-frame-and-scan.png');
  });

  await step('NPZ preview: zoom in with the keyboard keeps pixels sharp (nearest neighbour)', async () => {
    const canvas = preview.locator('#viewer-a-canvas');
    await canvas.focus();
    for (let i = 0; i < 4; i++) await canvas.press('+');
    const px = await canvasPixels(preview, '#viewer-a-canvas');
    if (px.drawn < 0.95) throw new Error(`zoomed view does not fill the canvas: ${px.drawn}`);
    await shot('10-npz-zoomed.png');
  });

  await step('NPZ preview: Export PNG saves what is shown (image and colorbar) through a save dialog', async () => {
    await preview.locator('#viewer-a .iv-export').click();
    // code-server's save dialog is a quick input holding the suggested path (next to the dataset).
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await page.waitForFunction(() => /\.png$/.test(document.querySelector('.quick-input-widget input')?.value ?? ''));
    const suggested = await input.inputValue();
    await page.keyboard.press('Enter');
    await preview.waitForFunction(() => /^Saved /.test(document.querySelector('#viewer-a-readout')?.textContent ?? ''), undefined, { timeout: 15_000 });
    const saved = (await preview.locator('#viewer-a-readout').innerText()).replace(/^Saved /, '').trim();
    const png = fs.readFileSync(saved);
    if (png.readUInt32BE(0) !== 0x89504e47) throw new Error(`${saved} is not a PNG`);
    const width = png.readUInt32BE(16);
    const canvasWidth = (await canvasPixels(preview, '#viewer-a-canvas')).width;
    if (width <= canvasWidth) throw new Error(`export is ${width} px wide, the canvas alone ${canvasWidth}: colorbar missing`);
    console.log(`    saved ${path.basename(saved)} (${png.length} bytes, ${width} px wide; suggested ${path.basename(suggested)})`);
    await preview.locator('#viewer-a-canvas').press('0');
  });

  await step('NPZ preview: a complex image shows amplitude and phase side by side (phase on a cyclic map)', async () => {
    await preview.locator('#members button.member-link', { hasText: /^objectGuess$/ }).click();
    await preview.locator('#viewer-b-canvas').waitFor();
    await preview.waitForFunction(() => /read in/.test(document.querySelector('#member-status')?.textContent ?? ''));
    const a = await canvasPixels(preview, '#viewer-a-canvas');
    const b = await canvasPixels(preview, '#viewer-b-canvas');
    if (a.colors < 8 || b.colors < 8) throw new Error(`amplitude ${JSON.stringify(a)}, phase ${JSON.stringify(b)}`);
    const maps = await preview.locator('select.iv-cmap').evaluateAll((els) => els.map((e) => e.value));
    if (maps.join(',') !== 'gray,twilight') throw new Error(`colormaps ${maps}`);
    const phaseMaps = await preview.locator('#viewer-b select.iv-cmap option').allTextContents();
    const ampMaps = await preview.locator('#viewer-a select.iv-cmap option').allTextContents();
    if (ampMaps.some((m) => /cyclic/.test(m)) || !phaseMaps.some((m) => /twilight/.test(m))) throw new Error(`cyclic maps offered wrongly: ${ampMaps} / ${phaseMaps}`);
    await preview.locator('#viewer-b-canvas').scrollIntoViewIfNeeded();
    const box = await preview.locator('#viewer-b-canvas').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await preview.waitForFunction(() => /amplitude .* · phase .* rad/.test(document.querySelector('#viewer-b-readout')?.textContent ?? ''));
    await shot('11-npz-complex.png');
  });

  await step('NPZ preview: light and high-contrast themes restyle the page and redraw the canvases', async () => {
    // The workspace setting overrides the user's theme; VS Code applies it live.
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    const original = fs.readFileSync(settingsFile, 'utf8');
    const pickTheme = async (name) => {
      fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original), ...(name ? { 'workbench.colorTheme': name } : {}) }));
      await page.waitForTimeout(1500);
    };
    try {
      await pickTheme('Default Light Modern');
      await preview.waitForFunction(() => document.body.classList.contains('vscode-light'));
      const bar = await canvasPixels(preview, '#viewer-b-colorbar');
      if (bar.colors < 8) throw new Error('the colorbar was not redrawn');
      await shot('13-npz-light-theme.png');
      await pickTheme('Default High Contrast');
      await preview.waitForFunction(() => document.body.classList.contains('vscode-high-contrast'));
      await shot('14-npz-high-contrast.png');
    } finally {
      await pickTheme(undefined);
    }
  });

  await step('NPZ preview: a malformed file shows a readable error, not a blank page', async () => {
    await showJobs();
    await contextMenu(row('invalid data —').first(), 'Preview Training Data');
    const err = await webviewFrame('#fatal');
    const text = await err.locator('#fatal').innerText();
    if (!/dense_train\.npz is not a readable NumPy file/.test(text)) throw new Error(`error text: ${text}`);
    await shot('12-npz-error.png');
  });

  await jobPanelChecks({ page, step, shot, workspace, helpers: { showJobs, row, webviewFrame, canvasPixels, runCommand, toggleSidebar } });
  await reconstructionChecks(page, step, shot, { workspace, repoRoot, runCommand, webviewFrame, canvasPixels });
  await phaseFChecks(page, step, shot, { workspace, repoRoot, runCommand, webviewFrame });
  await runCompareChecks(page, step, shot, { workspace, repoRoot, runCommand, webviewFrame, canvasPixels });
} finally {
  await close();
  server.stop();
}

// Second session: the same study in Restricted Mode (an untrusted workspace).
fs.rmSync(path.join(workspace, 'demo-study', 'phase_e'), { recursive: true, force: true });
const restrictedRunDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-cs-ui-restricted-'));
server = await startCodeServer({ runDir: restrictedRunDir, restricted: true });
({ page, close } = await launchBrowser());
page.setDefaultTimeout(30_000);
try {
  await step('Restricted Mode: the tree browses the study and says why writing actions are off', async () => {
    await page.goto(server.url({ folder: workspace }));
    const icon = page.locator('.part.activitybar [aria-label*="PtychoPINN Study"]').first();
    await icon.waitFor({ timeout: 60_000 });
    await icon.click();
    await widenSidebar();
    await row('dose 1e3').waitFor({ timeout: 60_000 });
    await row('baseline (gs1)').first().waitFor();
    await sidebar().getByText('Restricted Mode: browsing and validation work').waitFor();
  });

  await step('Restricted Mode: writing commands are disabled where they are offered, and nothing is written', async () => {
    // The context menu shows Dry Run greyed out (command enablement: isWorkspaceTrusted), not a command that
    // can only fail after it is picked.
    // The menu closes when the tree re-renders under it (a refresh after the study is read), so the open and the
    // read of its entry are retried together.
    const entry = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Dry Run' }).first();
    let disabled;
    for (let attempt = 0; ; attempt++) {
      try {
        await row('baseline (gs1)').first().click({ button: 'right', timeout: 10_000 });
        await entry.waitFor({ timeout: 5_000 });
        disabled = await entry.evaluate(
          (el) => el.classList.contains('disabled') || !!el.querySelector('.disabled, [aria-disabled="true"]'),
          undefined,
          { timeout: 3_000 },
        );
        break;
      } catch (err) {
        await page.keyboard.press('Escape');
        if (attempt >= 3) throw err;
      }
    }
    if (!disabled) throw new Error('Dry Run is enabled in the context menu of an untrusted workspace');
    await shot('07-restricted-mode.png');
    await page.keyboard.press('Escape');
    // The palette does not list it either.
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('>PtychoPINN Study: Dry Run');
    await page.waitForTimeout(800);
    const listed = await page.locator('.quick-input-list .monaco-list-row', { hasText: 'PtychoPINN Study: Dry Run' }).count();
    await page.keyboard.press('Escape');
    if (listed > 0) throw new Error('the command palette offers Dry Run in an untrusted workspace');
    if (fs.existsSync(path.join(workspace, 'demo-study', 'phase_e'))) throw new Error('a dry run wrote files in Restricted Mode');
  });
} finally {
  await close();
  server.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
  for (const dir of [runDir, restrictedRunDir]) {
    if (!process.env.PTYCHO_KEEP_RUN) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
fs.writeFileSync(path.join(ART, 'ui.json'), JSON.stringify({ passed, failed, results }, null, 2));
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
