// Text that comes from files (member names, metadata strings, paths, error messages quoting file bytes) is
// printed to terminals, where control sequences could retitle the window, rewrite or hide lines
// (ESC ] 0 ; … BEL, ESC [ 2 J, a bare CR) or reorder what is shown (bidi overrides). These escape them.

/** C0 controls except tab and newline, DEL, C1 controls, the line/paragraph separators, bidi embeddings and isolates. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every unsafe character written as `\xNN` (or `\u{NNNN}` above U+00FF); tab and newline are kept. */
export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/**
 * Like escapeControl, for JSON text: `\u00NN` escapes, so a JSON document stays valid and parses to the same
 * value (JSON.stringify leaves DEL, C1 and the bidi characters raw; they can only occur inside strings).
 */
export function escapeJsonControl(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
