// Mocha reporter: the spec reporter's output, then one line "N passed, N failed[, N skipped]" for CI,
// and a JSON results file when MOCHA_RESULTS is set (the combined CI summary reads it).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const results = [];
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed', ms: t.duration }));
    runner.on('fail', (t, err) => results.push({ title: t.fullTitle(), state: 'failed', err: String((err && err.stack) || err) }));
    runner.on('pending', (t) => results.push({ title: t.fullTitle(), state: 'skipped' }));
    runner.once('end', () => {
      const passed = results.filter((r) => r.state === 'passed').length;
      const failed = results.filter((r) => r.state === 'failed').length;
      const skipped = results.filter((r) => r.state === 'skipped').length;
      const file = process.env.MOCHA_RESULTS;
      if (file) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify({ passed, failed, skipped, results }, null, 2));
      }
      process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
    });
  }
}
module.exports = SummaryReporter;
