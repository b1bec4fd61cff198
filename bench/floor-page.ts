/**
 * The browser floor: a bare page with xterm.js fed by a raw local node-pty over a plain WebSocket —
 * no sandbox, no lesson page, no protocol beyond one opcode byte (the same 0x81 output frame, so the
 * flood tap reads both alike) — with the same xterm.js flow control as the lesson page.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { projectRoot } from '../sandbox-server/src/config.ts';
import { FLOW } from '../protocol/messages.ts';
import { spawnRawBash } from './raw-pty.ts';

const xterm = join(projectRoot, 'node_modules/@xterm/xterm');

const webgl = join(projectRoot, 'node_modules/@xterm/addon-webgl');

/** `/` with xterm.js's DOM renderer; `/webgl` with its WebGL renderer (software GL where there is no GPU). */
const page = (renderer: 'dom' | 'webgl') => `<!doctype html>
<meta charset="utf-8">
<link rel="stylesheet" href="/xterm.css">
<script src="/xterm.js"></script>
${renderer === 'webgl' ? '<script src="/addon-webgl.js"></script>' : ''}
<div id="screen" style="width: 700px; height: 600px"></div>
<script>
  const term = new Terminal({ fontSize: 14, scrollback: 5000 });
  term.open(document.getElementById('screen'));
  ${renderer === 'webgl' ? 'term.loadAddon(new WebglAddon.WebglAddon());' : ''}
  const ws = new WebSocket('ws://' + location.host + '/pty');
  ws.binaryType = 'arraybuffer';
  let pending = 0, paused = false;
  ws.onmessage = (event) => {
    const data = new Uint8Array(event.data, 1);
    pending += data.length;
    if (!paused && pending > ${FLOW.highWatermark}) { paused = true; ws.send('pause'); }
    term.write(data, () => {
      pending -= data.length;
      if (paused && pending < ${FLOW.lowWatermark}) { paused = false; ws.send('resume'); }
    });
  };
  term.onData((data) => ws.send('input:' + data));
</script>`;

export interface FloorPage {
  url: string;
  close(): Promise<void>;
}

export async function startFloorPage(cwd: string): Promise<FloorPage> {
  // Read once: every request used to read every file again.
  const files: Record<string, [string, string]> = {
    '/': ['text/html', page('dom')],
    '/webgl': ['text/html', page('webgl')],
    '/addon-webgl.js': ['text/javascript', readFileSync(join(webgl, 'lib/addon-webgl.js'), 'utf8')],
    '/xterm.js': ['text/javascript', readFileSync(join(xterm, 'lib/xterm.js'), 'utf8')],
    '/xterm.css': ['text/css', readFileSync(join(xterm, 'css/xterm.css'), 'utf8')],
  };
  const server: Server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    res.writeHead(file ? 200 : 404, { 'content-type': file?.[0] ?? 'text/plain' }).end(file?.[1] ?? 'not found');
  });
  const wss = new WebSocketServer({ server, path: '/pty' });
  wss.on('connection', (ws) => {
    // encoding null: raw Buffers, as the server's ptys give.
    const pty = spawnRawBash(cwd, { cols: 80, rows: 24 }, null);
    pty.onData((data: string | Buffer) => ws.send(Buffer.concat([Buffer.from([0x81]), Buffer.from(data)])));
    ws.on('message', (message) => {
      const text = message.toString();
      if (text === 'pause') pty.pause();
      else if (text === 'resume') pty.resume();
      else if (text.startsWith('input:')) pty.write(text.slice(6));
    });
    ws.on('close', () => pty.kill());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
