// Starts code-server with the extension loaded from this checkout on a folder (default: a demo study
// folder in ./demo-study, created if absent) and prints the URL to open. Ctrl-C stops it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, startCodeServer } from './codeServer.mjs';

const folder = path.resolve(process.argv[2] ?? path.join(repoRoot, 'demo-study'));
fs.mkdirSync(folder, { recursive: true });
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-cs-open-'));
const server = await startCodeServer({ runDir });
console.log(`VS Code (code-server) with the PtychoPINN Study Workbench on ${folder}:\n  ${server.url({ folder })}\nCtrl-C to stop.`);
process.on('SIGINT', () => { server.stop(); process.exit(0); });
setInterval(() => undefined, 1 << 30);
