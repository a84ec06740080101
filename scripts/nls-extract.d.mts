// Types of scripts/nls-extract.mjs (imported by test/unit/l10n.test.ts).
export function localizableFields(pkg: unknown): [Record<string | number, unknown>, string | number, string][];
