// UI checks in a real VS Code (code-server) driven by Playwright + Debian Chromium, with screenshots kept
// in $ARTIFACTS_DIR/screenshots. Each step is one check; prints "N passed, N failed".
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, startCodeServer, launchBrowser } from './codeServer.mjs';

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
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
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

  await step('the Problems panel lists the invalid file with its rule', async () => {
    await runCommand('View: Focus Problems');
    const problems = page.locator('.markers-panel');
    await problems.waitFor();
    await problems.locator('.monaco-list-row', { hasText: 'dense_train.npz' }).first().waitFor({ timeout: 30_000 });
    await problems.locator('.monaco-list-row', { hasText: 'Not a readable NumPy' }).first().waitFor();
    await shot('06-problems.png');
  });
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

  await step('Restricted Mode: Dry Run is refused with an explanation and writes nothing', async () => {
    await runCommand('PtychoPINN Study: Dry Run');
    // No job quick pick: the refusal comes first. (Toasts do not show in headless Chromium; the
    // notification center lists the message with its button.)
    await page.locator('[id="status.notifications"]').click();
    const note = page.locator('.notifications-center .monaco-list-row', { hasText: 'needs a trusted workspace' }).first();
    await note.waitFor();
    await note.getByRole('button', { name: 'Manage Workspace Trust' }).waitFor();
    await shot('07-restricted-mode.png');
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
