/** The flood tap's checksum agrees with coreutils' `cksum` on the same bytes, frame boundaries anywhere. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';

function runTap(frames: Uint8Array[]): { bytes: number; cksum: string; state: string; after: string } {
  class FakeSocketBase extends EventTarget {}
  const context: Record<string, unknown> = { WebSocket: FakeSocketBase, performance, Uint8Array, Uint32Array, ArrayBuffer, Math, Object };
  context.globalThis = context;
  runInNewContext(readFileSync(new URL('./flood-tap.js', import.meta.url), 'utf8'), context);
  const socket = new (context.WebSocket as new () => EventTarget)();
  for (const frame of frames) {
    const event = new Event('message') as Event & { data: ArrayBuffer };
    Object.defineProperty(event, 'data', { value: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) });
    socket.dispatchEvent(event);
  }
  return context.__opslabFlood as { bytes: number; cksum: string; state: string; after: string };
}

test('the tap sums what cksum sums (CR and LF left out), across frame boundaries', () => {
  const text = Buffer.from(randomBytes(50_000).toString('base64').replace(/.{76}/g, '$&\r\n'));
  const stream = Buffer.concat([Buffer.from('$ echo prompt\r\n\x01'), text, Buffer.from('\x04\r\nSUM 1 2\r\nroot@opslab:~# ')]);
  const frames: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += 4093) frames.push(Buffer.concat([Buffer.from([0x81]), stream.subarray(at, at + 4093)]));
  frames.splice(3, 0, Buffer.from([0x85, 0x7b, 0x7d])); // a status frame in between is not output
  const expected = execFileSync('cksum', { input: text.toString().replace(/[\r\n]/g, '') }).toString().trim();
  const flood = runTap(frames);
  assert.equal(flood.state, 'done');
  assert.equal(flood.bytes, text.length);
  assert.equal(flood.cksum, expected);
  assert.equal(flood.after, '\r\nSUM 1 2\r\nroot@opslab:~# ');
});

test('a lost frame changes the sum', () => {
  const text = Buffer.from(randomBytes(30_000).toString('base64'));
  const whole = Buffer.concat([Buffer.from('\x01'), text, Buffer.from('\x04')]);
  const frames = [0, 1, 2, 3].map((i) => Buffer.concat([Buffer.from([0x81]), whole.subarray(i * 10_001, (i + 1) * 10_001)]));
  const expected = execFileSync('cksum', { input: text }).toString().trim();
  assert.equal(runTap(frames).cksum, expected);
  assert.notEqual(runTap([frames[0]!, frames[2]!, frames[3]!]).cksum, expected);
});
