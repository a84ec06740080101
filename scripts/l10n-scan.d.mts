// Types of scripts/l10n-scan.mjs (imported by test/unit/l10n.test.ts).
export interface L10nTemplate { key: string; file: string; line: number }
export interface L10nError { file: string; line: number; message: string }
export interface BareMessageCall { file: string; line: number; call: string }

export const L10N_SOURCE_DIR: string;
export const L10N_BUNDLE: string;
export const NOT_USER_TEXT: string;
export function listSources(root: string, dir?: string): string[];
export function maskSource(src: string): string;
export function unescapeLiteral(body: string): string;
export function readLiteral(src: string, at: number): { value: string; end: number } | undefined;
export function scanSource(src: string, file?: string): { templates: L10nTemplate[]; errors: L10nError[] };
export function bareMessageCalls(src: string, file?: string): BareMessageCall[];
export function scanL10n(root: string, dir?: string): { keys: string[]; templates: L10nTemplate[]; errors: L10nError[] };
export function bundleOf(keys: readonly string[]): Record<string, string>;
export function bundleText(keys: readonly string[]): string;
export function placeholdersOf(key: string): number[];
