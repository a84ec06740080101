// The l10n scanner: finds the `l10n.t('…')` message templates of src/extension/**/*.ts, the keys of
// l10n/bundle.l10n.json. Plain functions (no I/O but reading the sources): scripts/l10n-export.mjs writes the bundle
// with them, test/unit/l10n.test.ts checks the committed bundle and the sources with the same code.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The folder scanned, relative to the repository root. */
export const L10N_SOURCE_DIR = 'src/extension';
/** The bundle written, relative to the repository root. */
export const L10N_BUNDLE = 'l10n/bundle.l10n.json';
/** The marker that exempts a line from the "no bare message string" rule. */
export const NOT_USER_TEXT = '// l10n: not user text';

/** The .ts files under `dir` (relative to `root`), sorted, as repository-relative paths with `/`. */
export function listSources(root, dir = L10N_SOURCE_DIR) {
  const out = [];
  const walk = (rel) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(r);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * The source with comments and the contents of string, template and regex literals blanked out (newlines and
 * offsets kept), so searches only see code. A light lexer: enough for this code base's TypeScript.
 */
export function maskSource(src) {
  const out = src.split('');
  const blank = (i) => {
    if (out[i] !== '\n') out[i] = ' ';
  };
  const braces = []; // for each `${` open in a template: the brace depth when it opened
  let depth = 0;
  let prev = ''; // the last significant code character (decides whether `/` starts a regex)
  let i = 0;
  const n = src.length;
  const readTemplate = () => {
    // at the character after a backtick or after the `}` closing a substitution
    while (i < n) {
      const c = src[i];
      if (c === '\\') {
        blank(i);
        blank(i + 1);
        i += 2;
      } else if (c === '`') {
        i++;
        prev = '`';
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        braces.push(depth);
        depth++;
        i += 2;
        prev = '{';
        return;
      } else {
        blank(i);
        i++;
      }
    }
  };
  while (i < n) {
    const c = src[i];
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') blank(i++);
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      while (i < stop) blank(i++);
    } else if (c === "'" || c === '"') {
      i++;
      while (i < n && src[i] !== c && src[i] !== '\n') {
        if (src[i] === '\\') blank(i++);
        blank(i++);
      }
      i++;
      prev = c;
    } else if (c === '`') {
      i++;
      readTemplate();
    } else if (c === '/' && (prev === '' || '(,=:[!&|?{};+-*%<>~^'.includes(prev) || /\b(return|typeof|case|in|of|void)$/.test(src.slice(Math.max(0, i - 8), i).trimEnd()))) {
      // a regex literal
      i++;
      let cls = false;
      while (i < n && src[i] !== '\n') {
        const d = src[i];
        if (d === '\\') {
          blank(i++);
        } else if (d === '[') cls = true;
        else if (d === ']') cls = false;
        else if (d === '/' && !cls) break;
        blank(i++);
      }
      i++;
      prev = '/';
    } else if (c === '{') {
      depth++;
      prev = c;
      i++;
    } else if (c === '}') {
      depth--;
      i++;
      if (braces.length && braces[braces.length - 1] === depth) {
        braces.pop();
        readTemplate();
      } else prev = c;
    } else {
      if (!/\s/.test(c)) prev = /[\w$)\]]/.test(c) ? 'x' : c;
      i++;
    }
  }
  return out.join('');
}

/** The value of a string literal's body (`'`, `"` or template without substitutions), escapes resolved. */
export function unescapeLiteral(body) {
  return body.replace(/\\(u\{([0-9a-fA-F]+)\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|\r\n|[\s\S])/g, (_m, e, cp, u4, x2) => {
    if (cp) return String.fromCodePoint(parseInt(cp, 16));
    if (u4) return String.fromCharCode(parseInt(u4, 16));
    if (x2) return String.fromCharCode(parseInt(x2, 16));
    switch (e) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case '0': return '\0';
      case '\n': case '\r\n': case '\u2028': case '\u2029': return '';
      default: return e;
    }
  });
}

/**
 * The string literal starting at `src[at]` (a quote or backtick): `{ value, end }` (end: the offset after it), or
 * `undefined` when it is not one or is a template with `${…}`.
 */
export function readLiteral(src, at) {
  const q = src[at];
  if (q !== "'" && q !== '"' && q !== '`') return undefined;
  let i = at + 1;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') i += 2;
    else if (c === q) return { value: unescapeLiteral(src.slice(at + 1, i)), end: i + 1 };
    else if (q === '`' && c === '$' && src[i + 1] === '{') return undefined;
    else if (q !== '`' && c === '\n') return undefined;
    else i++;
  }
  return undefined;
}

const lineAt = (src, offset) => src.slice(0, offset).split('\n').length;
const skipSpace = (src, i) => {
  while (i < src.length && /\s/.test(src[i])) i++;
  return i;
};

/**
 * The `l10n.t(…)` calls of one source: `templates` (the literal first arguments, with their lines) and `errors`
 * (calls whose first argument is not a lone string literal).
 */
export function scanSource(src, file = '<source>') {
  const masked = maskSource(src);
  const templates = [];
  const errors = [];
  for (const m of masked.matchAll(/\bl10n\s*\.\s*t\s*\(/g)) {
    const start = skipSpace(src, m.index + m[0].length);
    const line = lineAt(src, m.index);
    const lit = readLiteral(src, start);
    const after = lit ? skipSpace(src, lit.end) : -1;
    if (!lit || (src[after] !== ',' && src[after] !== ')')) {
      errors.push({ file, line, message: 'the first argument of l10n.t is not a string literal (a template literal without ${} is fine)' });
      continue;
    }
    templates.push({ key: lit.value, file, line });
  }
  return { templates, errors };
}

/** Calls of showInformationMessage / showWarningMessage / showErrorMessage whose message is a bare literal. */
export function bareMessageCalls(src, file = '<source>') {
  const masked = maskSource(src);
  const lines = src.split('\n');
  const out = [];
  for (const m of masked.matchAll(/\b(showInformationMessage|showWarningMessage|showErrorMessage)\s*\(/g)) {
    const start = skipSpace(src, m.index + m[0].length);
    if (!["'", '"', '`'].includes(src[start])) continue;
    const line = lineAt(src, m.index);
    if (lines[line - 1].includes(NOT_USER_TEXT)) continue;
    out.push({ file, line, call: m[1] });
  }
  return out;
}

/** Every template of the sources under `dir`, and every call that is not a literal. */
export function scanL10n(root, dir = L10N_SOURCE_DIR) {
  const templates = [];
  const errors = [];
  for (const file of listSources(root, dir)) {
    const r = scanSource(fs.readFileSync(path.join(root, file), 'utf8'), file);
    templates.push(...r.templates);
    errors.push(...r.errors);
  }
  const keys = [...new Set(templates.map((t) => t.key))].sort();
  return { keys, templates, errors };
}

/** The bundle of these keys: key → the same English text, sorted (deterministic output). */
export function bundleOf(keys) {
  const bundle = {};
  for (const k of [...keys].sort()) bundle[k] = k;
  return bundle;
}

/** The bundle file's text: 2-space JSON with a final newline. */
export const bundleText = (keys) => `${JSON.stringify(bundleOf(keys), null, 2)}\n`;

/** The placeholder numbers of a template (`{0}`, `{1}` …), sorted and unique. */
export function placeholdersOf(key) {
  return [...new Set([...key.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
}
