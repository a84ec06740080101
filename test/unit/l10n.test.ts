// l10n scaffolding: the user-facing strings of src/extension go through vscode.l10n.t with literal templates, and
// l10n/bundle.l10n.json (written by scripts/l10n-export.mjs) lists exactly those templates.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './helpers/paths';
import { L10N_BUNDLE, NOT_USER_TEXT, bareMessageCalls, listSources, placeholdersOf, scanL10n, scanSource } from '../../scripts/l10n-scan.mjs';
import { localizableFields } from '../../scripts/nls-extract.mjs';

describe('l10n', () => {
  const scan = scanL10n(repoRoot);
  const bundlePath = path.join(repoRoot, L10N_BUNDLE);

  it('every l10n.t call in src/extension takes a string literal template', () => {
    assert.ok(scan.templates.length > 100, `templates found (${scan.templates.length})`);
    assert.deepEqual(scan.errors.map((e) => `${e.file}:${e.line}: ${e.message}`), []);
  });

  it(`${L10N_BUNDLE} is up to date with the sources (node scripts/l10n-export.mjs)`, () => {
    assert.ok(fs.existsSync(bundlePath), `${L10N_BUNDLE} exists`);
    const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8')) as Record<string, unknown>;
    const inBundle = new Set(Object.keys(bundle));
    const inSources = new Set(scan.keys);
    assert.deepEqual([...inSources].filter((k) => !inBundle.has(k)), [], 'templates missing from the bundle');
    assert.deepEqual([...inBundle].filter((k) => !inSources.has(k)), [], 'bundle entries no source uses');
    assert.deepEqual(Object.keys(bundle), [...Object.keys(bundle)].sort(), 'the bundle is sorted');
  });

  it('every bundle value is a non-empty string', () => {
    const bundle = JSON.parse(fs.readFileSync(bundlePath, 'utf8')) as Record<string, unknown>;
    const bad = Object.entries(bundle).filter(([, v]) => typeof v !== 'string' || v.trim() === '').map(([k]) => k);
    assert.deepEqual(bad, []);
  });

  it('the placeholders of every template are {0}, {1}, … without gaps', () => {
    const bad = scan.keys.filter((k) => placeholdersOf(k).some((p, i) => p !== i));
    assert.deepEqual(bad, []);
  });

  it('no showInformationMessage / showWarningMessage / showErrorMessage in src/extension takes a bare string', () => {
    const files = listSources(repoRoot);
    assert.ok(files.length > 20, 'extension sources found');
    const bare = files.flatMap((f) => bareMessageCalls(fs.readFileSync(path.join(repoRoot, f), 'utf8'), f));
    assert.deepEqual(bare.map((b) => `${b.file}:${b.line}: ${b.call} with a literal message (wrap it in vscode.l10n.t, or mark the line "${NOT_USER_TEXT}")`), []);
  });

  describe('scanner', () => {
    it('reads single-, double-quoted and plain template literals, escapes resolved', () => {
      const src = [
        "vscode.l10n.t('It\\'s {0}.', a);",
        'vscode.l10n.t("Say \\"hi\\"");',
        'vscode.l10n.t(`Back ${"`"}`);', // a template with a substitution: not extractable
        'vscode.l10n.t(`Plain\\ntext`);',
        "vscode.l10n.t(\n  'Wrapped {0}',\n  x);",
      ].join('\n');
      const r = scanSource(src, 'x.ts');
      assert.deepEqual(r.templates.map((t) => t.key), ["It's {0}.", 'Say "hi"', 'Plain\ntext', 'Wrapped {0}']);
      assert.deepEqual(r.errors.map((e) => `${e.file}:${e.line}`), ['x.ts:3']);
    });

    it('reports a call whose first argument is not a lone literal, and ignores comments and strings', () => {
      const src = [
        '// vscode.l10n.t(message) in a comment',
        '/* l10n.t(x) */ const s = "l10n.t(y)";',
        'const re = /["\']/; vscode.l10n.t(message);',
        "vscode.l10n.t('a' + b);",
        "vscode.l10n.t(`x ${`y`} l10n.t(z)`);",
      ].join('\n');
      const r = scanSource(src, 'y.ts');
      assert.deepEqual(r.templates, []);
      assert.deepEqual(r.errors.map((e) => e.line), [3, 4, 5]);
    });

    it('flags bare message literals unless the line is marked', () => {
      const src = [
        "void vscode.window.showInformationMessage('Bare');",
        'void vscode.window.showWarningMessage(`Bare ${x}`);',
        "void vscode.window.showErrorMessage(vscode.l10n.t('Wrapped'));",
        'void vscode.window.showErrorMessage(message, ...actions);',
        `void vscode.window.showInformationMessage('json'); ${NOT_USER_TEXT}`,
        "// vscode.window.showInformationMessage('in a comment')",
      ].join('\n');
      assert.deepEqual(bareMessageCalls(src, 'z.ts').map((b) => b.line), [1, 2]);
    });

    it('placeholdersOf lists the numbered placeholders once, sorted', () => {
      assert.deepEqual(placeholdersOf('Delete run {0} of {1}? runs/{0}/'), [0, 1]);
      assert.deepEqual(placeholdersOf('No placeholder {x}'), []);
      assert.deepEqual(placeholdersOf('{1} then {0}'), [0, 1]);
    });
  });
});

describe('l10n of package.json (package.nls.json)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const nls = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.nls.json'), 'utf8')) as Record<string, unknown>;

  it('every user-facing string of package.json is a %key% (node scripts/nls-extract.mjs moves new ones)', () => {
    const fields = localizableFields(pkg);
    assert.ok(fields.length > 100, `${fields.length} localizable fields`);
    const plain = fields.filter(([obj, field]) => !/^%[^%]+%$/.test(String(obj[field]))).map(([, , key]) => key);
    assert.deepEqual(plain, []);
  });

  it('every %key% has its English text in package.nls.json, and every text there is used', () => {
    const used = new Set([...JSON.stringify(pkg).matchAll(/"%([^%"]+)%"/g)].map((m) => m[1]));
    const missing = [...used].filter((k) => typeof nls[k] !== 'string' || !(nls[k] as string).trim());
    assert.deepEqual(missing, []);
    assert.deepEqual(Object.keys(nls).filter((k) => !used.has(k)), []);
  });
});
