// Moves package.json's user-facing strings into package.nls.json (VS Code's l10n of the manifest): each becomes
// "%key%" in package.json and "key": "English text" in package.nls.json, so a translation is a
// package.nls.<locale>.json away. Idempotent: strings already "%key%" are left alone. Run after adding a command,
// a setting or a walkthrough step: `node scripts/nls-extract.mjs` (test/unit/l10n.test.ts checks nothing is left).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The user-facing string fields of a manifest: [path of the object, field, nls key]. */
export function localizableFields(pkg) {
  const out = [];
  const add = (obj, field, key) => {
    if (obj && typeof obj[field] === 'string') out.push([obj, field, key]);
  };
  add(pkg, 'displayName', 'displayName');
  add(pkg, 'description', 'description');
  const c = pkg.contributes ?? {};
  for (const cmd of c.commands ?? []) {
    const id = cmd.command.replace(/^ptychoStudy\./, '');
    add(cmd, 'title', `command.${id}.title`);
    add(cmd, 'category', 'command.category');
  }
  for (const list of Object.values(c.viewsContainers ?? {})) for (const v of list) add(v, 'title', `viewsContainer.${v.id}.title`);
  for (const list of Object.values(c.views ?? {})) for (const v of list) add(v, 'name', `view.${v.id}.name`);
  (c.viewsWelcome ?? []).forEach((v, i) => add(v, 'contents', `viewsWelcome.${i}.contents`));
  for (const conf of [c.configuration].flat().filter(Boolean)) {
    add(conf, 'title', 'configuration.title');
    for (const [key, prop] of Object.entries(conf.properties ?? {})) {
      const k = key.replace(/^ptychoStudy\./, '');
      add(prop, 'description', `config.${k}.description`);
      add(prop, 'markdownDescription', `config.${k}.markdownDescription`);
      add(prop, 'deprecationMessage', `config.${k}.deprecationMessage`);
      if (Array.isArray(prop.enumDescriptions)) prop.enumDescriptions.forEach((_, i) => add(prop.enumDescriptions, i, `config.${k}.enumDescriptions.${i}`));
      if (Array.isArray(prop.markdownEnumDescriptions)) prop.markdownEnumDescriptions.forEach((_, i) => add(prop.markdownEnumDescriptions, i, `config.${k}.markdownEnumDescriptions.${i}`));
    }
  }
  for (const e of c.customEditors ?? []) add(e, 'displayName', `customEditor.${e.viewType}.displayName`);
  for (const w of c.walkthroughs ?? []) {
    add(w, 'title', `walkthrough.${w.id}.title`);
    add(w, 'description', `walkthrough.${w.id}.description`);
    for (const s of w.steps ?? []) {
      add(s, 'title', `walkthrough.${w.id}.${s.id}.title`);
      add(s, 'description', `walkthrough.${w.id}.${s.id}.description`);
    }
  }
  const trust = pkg.capabilities?.untrustedWorkspaces;
  add(trust, 'description', 'capabilities.untrustedWorkspaces.description');
  add(pkg.capabilities?.virtualWorkspaces, 'description', 'capabilities.virtualWorkspaces.description');
  return out;
}

// Run as a script (not when a test imports localizableFields).
if (process.argv[1] && path.basename(process.argv[1]) === 'nls-extract.mjs') {
  const root = path.join(path.dirname(path.resolve(process.argv[1])), '..');
  const pkgFile = path.join(root, 'package.json');
  const nlsFile = path.join(root, 'package.nls.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  const nls = fs.existsSync(nlsFile) ? JSON.parse(fs.readFileSync(nlsFile, 'utf8')) : {};
  let moved = 0;
  for (const [obj, field, key] of localizableFields(pkg)) {
    const v = obj[field];
    if (/^%[^%]+%$/.test(v)) continue;
    if (key in nls && nls[key] !== v) throw new Error(`${key}: package.nls.json already has another text ("${nls[key]}" vs "${v}")`);
    nls[key] = v;
    obj[field] = `%${key}%`;
    moved++;
  }
  const sorted = Object.fromEntries(Object.keys(nls).sort().map((k) => [k, nls[k]]));
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  fs.writeFileSync(nlsFile, JSON.stringify(sorted, null, 2) + '\n');
  console.log(`${moved} string(s) moved to package.nls.json (${Object.keys(sorted).length} in all)`);
}
