// UI checks of the job panel (ptychoStudy.openLog) and the manifest viewer in the real VS Code (code-server +
// Playwright), called from ui-checks.mjs after the NPZ preview steps: click a job in the Jobs tree, train it
// from the panel's Train button, watch the log grow and the loss chart gain points, search the log, switch
// the chart to a log axis, push 100,000 log lines at 10,000 lines/s (prints lines/s and frame times), and
// open the manifest viewer (job and study). Screenshots go to the screenshots folder.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * @param {object} o
 * @param {import('playwright-core').Page} o.page
 * @param {(name: string, fn: () => Promise<void>) => Promise<void>} o.step
 * @param {(file: string) => Promise<unknown>} o.shot
 * @param {string} o.workspace
 * @param {object} o.helpers  showJobs, row, webviewFrame, canvasPixels, runCommand, toggleSidebar
 */
export async function jobPanelChecks({ page, step, shot, workspace, helpers }) {
  const { showJobs, row, webviewFrame, canvasPixels, runCommand, toggleSidebar } = helpers;
  const jobDir = path.join(workspace, 'demo-study', 'phase_e', 'dose_10000', 'baseline', 'gs1');
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  let panel;
  const text = async (sel) => ((await panel.locator(sel).first().textContent()) ?? '').trim();
  const chartEpochs = async () => {
    const label = (await panel.locator('#loss-canvas').getAttribute('aria-label')) ?? '';
    const m = /(\d+) epochs?;/.exec(label);
    return m ? Number(m[1]) : 0;
  };
  const logLines = async () => Number(((await text('#log-status')).match(/^([\d,]+) line/)?.[1] ?? '0').replace(/,/g, ''));

  await step('Job panel: clicking a job in the Jobs tree opens its panel (state, datasets, actions)', async () => {
    // A short, small training run for the Train step (the settings users have).
    const settings = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    fs.writeFileSync(settingsFile, JSON.stringify({ ...settings, 'ptychoStudy.training.epochs': 4, 'ptychoStudy.training.batchSize': 8, 'ptychoStudy.training.nFiltersScale': 1 }));
    await runCommand('View: Close All Editors');
    await showJobs();
    await row('baseline (gs1)').nth(1).click();
    panel = await webviewFrame('#job-header');
    await panel.locator('#job-title', { hasText: 'dose_10000/baseline/gs1' }).waitFor();
    await panel.locator('#job-state', { hasText: 'ready' }).waitFor();
    await panel.locator('#job-datasets', { hasText: 'patched_train.npz' }).waitFor();
    await page.locator('.tab.active', { hasText: 'dose_10000/baseline/gs1' }).waitFor();
    if (await panel.locator('#action-train').isDisabled()) throw new Error('Train is disabled for a ready job');
    if (!(await panel.locator('#action-cancel').isDisabled())) throw new Error('Cancel is enabled with nothing running');
    await panel.locator('#log-status', { hasText: 'no train.log yet' }).waitFor();
    await panel.locator('#run-none').waitFor();
    await toggleSidebar(); // the panel gets the whole window
    await shot('20-job-panel-dry-run.png');
  });

  await step('Job panel: Train starts a run; the log grows and the loss chart gains points', async () => {
    const linesBefore = await logLines();
    const before = await canvasPixels(panel, '#loss-canvas');
    await panel.locator('#action-train').click();
    await panel.locator('#job-state', { hasText: /running|starting|queued/ }).waitFor({ timeout: 30_000 });
    await panel.locator('#progress-text', { hasText: /epoch \d+\/4 · step/ }).waitFor({ timeout: 60_000 });
    const linesRunning = await logLines();
    // Wait for the second epoch while running, for a mid-run screenshot.
    const deadline = Date.now() + 120_000;
    let epochsSeen = [];
    let shotTaken = false;
    // The Reconstruction section while it trains: each measured epoch's preview replaces the last (label and pixels).
    const previewsSeen = new Map();
    while (Date.now() < deadline) {
      const e = await chartEpochs();
      if (!epochsSeen.includes(e)) epochsSeen.push(e);
      const state = await text('#job-state');
      const label = await text('#preview-label').catch(() => '');
      const m = /^epoch (\d+)/.exec(label);
      if (m && !previewsSeen.has(m[1])) {
        previewsSeen.set(m[1], (await canvasPixels(panel, '#preview-amplitude')).sum);
        if (previewsSeen.size === 2 && /running/.test(state)) {
          await panel.locator('#preview-section').scrollIntoViewIfNeeded();
          await shot('21b-job-panel-preview-live.png');
          await panel.locator('#job-header').scrollIntoViewIfNeeded();
        }
      }
      if (e >= 2 && /running/.test(state) && !shotTaken) {
        await shot('21-job-panel-training.png');
        shotTaken = true;
      }
      if (shotTaken && previewsSeen.size >= 2) break;
      if (/succeeded|failed/.test(state)) break;
      await page.waitForTimeout(250);
    }
    if (previewsSeen.size < 2) throw new Error(`the live preview did not follow the training: epochs shown ${[...previewsSeen.keys()]}`);
    if (new Set(previewsSeen.values()).size < 2) throw new Error('the live preview\'s image did not change between epochs');
    await panel.locator('#job-state', { hasText: 'succeeded' }).waitFor({ timeout: 180_000 });
    await panel.locator('#log-viewport .log-row', { hasText: 'FINISHED dose_10000/baseline/gs1' }).first().waitFor({ timeout: 30_000 });
    const epochs = await chartEpochs();
    epochsSeen.push(epochs);
    const after = await canvasPixels(panel, '#loss-canvas');
    const linesAfter = await logLines();
    if (!(linesRunning > linesBefore && linesAfter > linesRunning)) throw new Error(`the log did not grow: ${linesBefore} → ${linesRunning} → ${linesAfter}`);
    if (epochs !== 4) throw new Error(`the chart shows ${epochs} epochs, expected 4`);
    if (new Set(epochsSeen).size < 3) throw new Error(`the chart did not update live: epochs seen ${epochsSeen}`);
    if (after.sum === before.sum || after.colors < 4) throw new Error(`the chart looks unchanged or blank: ${JSON.stringify(after)}`);
    await panel.locator('#metrics-table').waitFor();
    if (await panel.locator('#action-showReconstruction').isDisabled()) throw new Error('Show Reconstruction is disabled after success');
    console.log(`    (log ${linesBefore} → ${linesRunning} (running) → ${linesAfter} lines; chart epochs seen ${[...new Set(epochsSeen)].join(' → ')})`);
    await shot('22-job-panel-succeeded.png');
  });

  await step('Job panel: the Reconstruction slider steps back through the epochs (Home, →) and the image follows', async () => {
    await panel.locator('#preview-section').scrollIntoViewIfNeeded();
    const slider = panel.locator('#preview-slider');
    // The newest preview is shown (the quality window may skip epochs when it would cost > 5 % of one).
    await panel.locator('#preview-label', { hasText: /^epoch \d+ \((\d+) of \1\)/ }).waitFor({ timeout: 30_000 });
    const shown = Number(/of (\d+)/.exec(await text('#preview-label'))[1]);
    if (shown < 2) throw new Error(`only ${shown} preview(s) after 4 epochs`);
    const last = (await canvasPixels(panel, '#preview-amplitude')).sum;
    await slider.focus();
    await page.keyboard.press('Home');
    await panel.locator('#preview-label', { hasText: /^epoch 1 \(1 of \d+\)/ }).waitFor({ timeout: 10_000 });
    await panel.waitForFunction((s) => {
      const c = document.querySelector('#preview-amplitude');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      for (let i = 0; i < d.length; i += 16) sum = (sum * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007;
      return sum !== s;
    }, last, { timeout: 10_000 });
    await page.keyboard.press('ArrowRight');
    await panel.locator('#preview-label', { hasText: /^epoch \d+ \(2 of \d+\)/ }).waitFor({ timeout: 10_000 });
    await shot('22b-job-panel-preview-slider.png');
    await panel.locator('#job-header').scrollIntoViewIfNeeded();
  });

  await step('Job panel: search highlights the matches; Enter moves to the next one', async () => {
    await panel.locator('#log-search').fill('EPOCH');
    await panel.locator('#log-count', { hasText: /^1 of \d+/ }).waitFor();
    const n = Number((await text('#log-count')).match(/of (\d+)/)[1]);
    if (n < 4) throw new Error(`only ${n} EPOCH lines found`);
    await panel.locator('#log-search').press('Enter');
    await panel.locator('#log-count', { hasText: /^2 of / }).waitFor();
    await panel.locator('mark.log-match.current').first().waitFor();
    const follow = await panel.locator('#log-follow').isChecked();
    console.log(`    (${n} matches; follow ${follow ? 'on' : 'off'} after jumping to a match)`);
    await shot('23-job-panel-search.png');
  });

  await step('Job panel: copy the selected lines (click line numbers) and the whole log, through the host clipboard', async () => {
    await panel.locator('#log-search').fill('');
    await panel.evaluate(() => {
      document.querySelector('#log-viewport').scrollTop = 0;
    });
    await panel.locator('#log-follow').waitFor();
    await panel.locator('#log-rows .log-row').first().locator('.log-ln').click();
    await panel.locator('#log-rows .log-row').nth(2).locator('.log-ln').click({ modifiers: ['Shift'] });
    // The rows are redrawn on the next animation frame.
    await panel.waitForFunction(() => document.querySelectorAll('#log-rows .log-row.selected').length === 3, null, { timeout: 3000 })
      .catch(async () => { throw new Error(`three lines are not selected (${await panel.locator('#log-rows .log-row.selected').count()})`); });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']).catch(() => undefined);
    await panel.locator('#log-copy').click();
    await panel.locator('#log-status', { hasText: /Copied 3 lines|Could not copy/ }).waitFor();
    const status = await text('#log-status');
    if (!/Copied 3 lines/.test(status)) throw new Error(`copy failed: ${status}`);
    const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(clipboard not readable here: ${e.message})`);
    console.log(`    clipboard: ${JSON.stringify(clip.slice(0, 120))}${clip.length > 120 ? '…' : ''}`);
    if (!clip.startsWith('(') && clip.split('\n').length !== 3) throw new Error(`the clipboard holds ${clip.split('\n').length} lines`);
    await panel.locator('#log-copy-all').click();
    await panel.locator('#log-status', { hasText: /Copied all \d+ lines/ }).waitFor();
    await panel.locator('#log-rows .log-row').first().locator('.log-ln').click(); // clears the selection
    await panel.locator('#log-rows .log-row').first().locator('.log-ln').click();
    await panel.locator('#log-follow').check();
  });

  await step('Job panel: log y axis (loss − min + ε when the NLL is negative) and the hover readout', async () => {
    await panel.locator('#loss-ymode').selectOption('log');
    await panel.locator('#loss-note', { hasText: /loss − min|logarithmic axis/ }).waitFor();
    console.log(`    note: ${await text('#loss-note')}`);
    // The quality chart below the loss chart makes the page taller: bring the loss chart into view first.
    await panel.locator('#loss-canvas').scrollIntoViewIfNeeded();
    const box = await panel.locator('#loss-canvas').boundingBox();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.5);
    await panel.locator('#loss-readout', { hasText: /^epoch \d+ · train/ }).waitFor();
    console.log(`    readout: ${await text('#loss-readout')}`);
    await shot('24-job-panel-log-axis.png');
    await panel.locator('#loss-ymode').selectOption('linear');
    await panel.locator('#log-search').fill('');
  });

  await step('Job panel: 100,000 lines at 10,000 lines/s stay smooth (lines/s and frame times printed)', async () => {
    const logFile = path.join(jobDir, 'train.log');
    await panel.locator('#log-follow').check();
    const start = await logLines();
    // Frame times inside the page while the lines arrive.
    await panel.evaluate(() => {
      const ft = { frames: 0, max: 0, over50: 0, over100: 0, stop: false };
      window.__ft = ft;
      let last = performance.now();
      const tick = (t) => {
        const d = t - last;
        last = t;
        ft.frames++;
        if (d > ft.max) ft.max = d;
        if (d > 50) ft.over50++;
        if (d > 100) ft.over100++;
        if (!ft.stop) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const N = 100_000;
    const t0 = Date.now();
    for (let k = 0; k < 100; k++) {
      const chunk = [];
      for (let i = k * 1000; i < (k + 1) * 1000; i++) chunk.push(`[2026-01-01T00:00:00.000Z] bench line ${i}: epoch ${1 + (i % 50)}/50 step ${i % 100}/100  loss -91.${String(i % 1000).padStart(3, '0')}  25.1 img/s  ETA 1m05s`);
      fs.appendFileSync(logFile, chunk.join('\n') + '\n');
      const due = t0 + (k + 1) * 100;
      await page.waitForTimeout(Math.max(0, due - Date.now()));
    }
    const written = Date.now();
    await panel.waitForFunction((want) => {
      const m = /^([\d,]+) line/.exec(document.querySelector('#log-status')?.textContent ?? '');
      return m && Number(m[1].replace(/,/g, '')) >= want;
    }, start + N, { timeout: 60_000 });
    const received = Date.now();
    const ft = await panel.evaluate(() => {
      window.__ft.stop = true;
      return window.__ft;
    });
    const last = await panel.locator('#log-viewport .log-row').last().textContent();
    if (!/bench line 99999/.test(last ?? '')) throw new Error(`follow mode does not show the newest line: ${last}`);
    const seconds = (received - t0) / 1000;
    console.log(`    (${N.toLocaleString('en-US')} lines written in ${((written - t0) / 1000).toFixed(1)} s, all on the page after ${seconds.toFixed(1)} s: ` +
      `${Math.round(N / seconds).toLocaleString('en-US')} lines/s received and rendered; ${ft.frames} frames, max frame ${ft.max.toFixed(0)} ms, ` +
      `${ft.over50} frames > 50 ms, ${ft.over100} > 100 ms)`);
    if (ft.max > 1000) throw new Error(`the page froze for ${ft.max.toFixed(0)} ms`);
    // Scrolling the 100k-line log: jump to the middle and to the top; the rows are there at once.
    const jump = await panel.evaluate(async () => {
      const vp = document.querySelector('#log-viewport');
      const t = performance.now();
      vp.scrollTop = vp.scrollHeight / 2;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const mid = performance.now() - t;
      const rows = document.querySelectorAll('#log-rows .log-row').length;
      return { mid, rows };
    });
    if (await panel.locator('#log-follow').isChecked()) throw new Error('scrolling up did not turn follow off');
    console.log(`    (jump to the middle of ${(start + N).toLocaleString('en-US')} lines drawn in ${jump.mid.toFixed(0)} ms with ${jump.rows} rows in the DOM)`);
    if (jump.rows > 300) throw new Error(`${jump.rows} rows in the DOM: not windowed`);
    await panel.locator('#log-search').fill('bench line 54321:');
    await panel.locator('#log-count', { hasText: /^1 of 1$/ }).waitFor();
    await panel.locator('mark.log-match.current', { hasText: 'bench line 54321:' }).waitFor();
    await shot('25-job-panel-100k-lines.png');
    await panel.locator('#log-search').fill('');
    await panel.locator('#log-follow').check();
  });

  await step('Manifest viewer: Show Manifest opens the job manifest beside the panel, with the execution provider used', async () => {
    await panel.locator('#action-showManifest').click();
    const mf = await webviewFrame('#mf-header');
    await mf.locator('#mf-status', { hasText: 'succeeded' }).waitFor();
    const ep = ((await mf.locator('#field-executionProviderUsed dd').textContent()) ?? '').trim();
    if (ep !== 'cpu') throw new Error(`execution provider shown: "${ep}"`);
    for (const id of ['status', 'config', 'data', 'runtime', 'timing', 'training', 'result', 'artifacts']) await mf.locator(`#section-${id}`).waitFor();
    await mf.locator('#metrics-table').waitFor();
    await shot('26-manifest-viewer.png');
    await mf.locator('#section-config').scrollIntoViewIfNeeded();
    await shot('27-manifest-config.png');
    await mf.locator('#mf-raw').check();
    await mf.locator('#mf-raw-view .json-tree').waitFor();
    await shot('28-manifest-raw-json.png');
    await mf.locator('#mf-raw').uncheck();
    await mf.locator('#section-status').waitFor();
  });

  await step('Manifest viewer: the study manifest lists the jobs with their states', async () => {
    await runCommand('PtychoPINN Study: Show Study Manifest');
    const mf = await webviewFrame('#section-jobs');
    await mf.locator('#jobs-table tr', { hasText: 'dose_10000/baseline/gs1' }).waitFor();
    await mf.locator('#jobs-table tr', { hasText: 'succeeded' }).first().waitFor();
    await shot('29-study-manifest.png');
  });

  await step('Job panel: light and high-contrast themes', async () => {
    const original = fs.readFileSync(settingsFile, 'utf8');
    const pickTheme = async (name) => {
      fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original), ...(name ? { 'workbench.colorTheme': name } : {}) }));
      await page.waitForTimeout(1500);
    };
    try {
      await runCommand('View: Close All Editors');
      await showJobs();
      // A click on a row the tree re-renders at that moment can be lost (CI once saw the row selected and no
      // panel): click again rather than wait out the whole deadline.
      for (let attempt = 1; ; attempt++) {
        await row('baseline (gs1)').nth(1).click();
        try {
          panel = await webviewFrame('#job-header', 10_000);
          break;
        } catch (err) {
          if (attempt >= 3) throw err;
        }
      }
      await panel.locator('#job-state', { hasText: 'succeeded' }).waitFor();
      await toggleSidebar();
      await pickTheme('Default Light Modern');
      await panel.waitForFunction(() => document.body.classList.contains('vscode-light'));
      await page.waitForTimeout(500);
      await shot('30-job-panel-light.png');
      await pickTheme('Default High Contrast');
      await panel.waitForFunction(() => document.body.classList.contains('vscode-high-contrast'));
      await page.waitForTimeout(500);
      await shot('31-job-panel-high-contrast.png');
    } finally {
      await pickTheme(undefined);
    }
  });
}
