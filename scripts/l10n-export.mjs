#!/usr/bin/env node
// Writes l10n/bundle.l10n.json from the `vscode.l10n.t('…')` templates of src/extension/**/*.ts (key = value =
// the English template), sorted. A translation is then a copy of it: l10n/bundle.l10n.<locale>.json.
// Exits 1 (printing file:line) when a call's first argument is not a string literal: such a message cannot be
// extracted. `--check`: write nothing, exit 1 when the committed bundle is out of date.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { L10N_BUNDLE, bundleText, scanL10n } from './l10n-scan.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { keys, errors } = scanL10n(root);
if (errors.length) {
  for (const e of errors) console.error(`${e.file}:${e.line}: ${e.message}`);
  process.exit(1);
}
const out = path.join(root, L10N_BUNDLE);
const text = bundleText(keys);
if (process.argv.includes('--check')) {
  const current = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (current !== text) {
    console.error(`${L10N_BUNDLE} is out of date: run node scripts/l10n-export.mjs`);
    process.exit(1);
  }
  console.log(`${L10N_BUNDLE}: ${keys.length} messages, up to date.`);
} else {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, text);
  console.log(`${L10N_BUNDLE}: ${keys.length} messages.`);
}
