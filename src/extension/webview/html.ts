// The HTML shell of every workbench webview: a strict Content-Security-Policy (nothing by default; scripts
// only with this page's nonce; styles, images and fonts only from the extension's own webview resources;
// images also from blob:/data: for canvases exported as PNG), no remote content, no eval, and every
// resource addressed through asWebviewUri. The panel's script is dist/webview/<panel>.js (esbuild, iife).
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PanelKind } from '../../webview/protocol';

/**
 * Options for a workbench webview: scripts on, and local resources limited to the extension's `media` and
 * `dist` folders plus `extraRoots` (e.g. a job's artifact folder for a panel that shows its images).
 */
export function webviewOptions(extensionUri: vscode.Uri, extraRoots: readonly vscode.Uri[] = []): vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist'), ...extraRoots],
  };
}

export interface WebviewHtmlOptions {
  panel: PanelKind;
  /** Document title (screen readers announce it). */
  title: string;
  /** Text shown until the script has started. */
  loadingText?: string;
}

export function nonce(): string {
  return randomBytes(18).toString('base64').replace(/[+/=]/g, (c) => (c === '+' ? '-' : c === '/' ? '_' : ''));
}

export function contentSecurityPolicy(webview: vscode.Webview, scriptNonce: string): string {
  const src = webview.cspSource;
  return [
    "default-src 'none'",
    `img-src ${src} blob: data:`,
    `style-src ${src}`,
    `font-src ${src}`,
    `script-src 'nonce-${scriptNonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The page of a panel: CSP, the shared stylesheet media/webview.css and the panel's bundle. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, opts: WebviewHtmlOptions): string {
  const n = nonce();
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'webview.css'));
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${opts.panel}.js`));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview, n)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<title>${escapeHtml(opts.title)}</title>
</head>
<body data-panel="${opts.panel}">
<main id="app" aria-busy="true"><p class="loading">${escapeHtml(opts.loadingText ?? 'Loading…')}</p></main>
<noscript><p class="error-box">This view needs scripts, which the webview refused to run.</p></noscript>
<script nonce="${n}" src="${script}"></script>
</body>
</html>`;
}
