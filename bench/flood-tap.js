/*
 * Injected into a page before its scripts run (Playwright addInitScript): watches every WebSocket's
 * terminal output frames (opcode 0x81, then raw bytes) and, between the markers SOH (0x01) and EOT
 * (0x04), counts the bytes and takes the POSIX `cksum` CRC of the payload without CR and LF — what
 * `tr -d '\n' | cksum` prints on the sending side; what follows EOT (the sender's own sum, printed
 * after the flood) is kept as text in `after`, and bytes in the flood that are not base64 in `odd`. Plain JavaScript on purpose: it runs as source in
 * the browser, untouched by the TypeScript loader.
 */
(() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  const flood = { state: 'waiting', bytes: 0, length: 0, crc: 0, startedAt: 0, endedAt: 0, cksum: '', after: '', odd: '' };
  const base64 = /[A-Za-z0-9+/=]/;
  const step = (crc, byte) => ((crc << 8) ^ table[((crc >>> 24) ^ byte) & 0xff]) >>> 0;
  const finish = () => {
    let crc = flood.crc;
    for (let n = flood.length; n > 0; n = Math.floor(n / 256)) crc = step(crc, n & 0xff);
    flood.cksum = `${~crc >>> 0} ${flood.length}`;
  };
  const take = (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (flood.state === 'waiting') {
        if (b === 0x01) Object.assign(flood, { state: 'counting', startedAt: performance.now() });
      } else if (flood.state === 'counting') {
        if (b === 0x04) {
          Object.assign(flood, { state: 'done', endedAt: performance.now() });
          finish();
          continue;
        }
        flood.bytes++;
        if (b !== 0x0a && b !== 0x0d) {
          flood.crc = step(flood.crc, b);
          flood.length++;
          // Anything but base64 in the flood is someone else's output: kept (a little) to be shown.
          if (!base64.test(String.fromCharCode(b)) && flood.odd.length < 200) flood.odd += String.fromCharCode(b);
        }
      } else if (flood.after.length < 4096) {
        flood.after += String.fromCharCode(b);
      }
    }
  };
  globalThis.__opslabFlood = flood;
  const NativeWebSocket = globalThis.WebSocket;
  globalThis.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        const frame = new Uint8Array(event.data);
        if (frame[0] === 0x81) take(frame.subarray(1));
      });
    }
  };
})();
