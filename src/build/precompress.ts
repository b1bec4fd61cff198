/**
 * After `astro build`: writes a gzip and a brotli copy beside every text asset, which the server
 * (sirv) sends to browsers that accept them. Done once at build time at the highest levels, so a
 * room loading the same page costs the server no compression work.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { AstroIntegration } from 'astro';

const COMPRESSIBLE = /\.(html|js|mjs|css|svg|json|txt|xml|map)$/;
/** Below this, headers cost more than compression saves. */
const MIN_BYTES = 1024;

export function precompress(dir: string): number {
  let written = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      written += precompress(path);
      continue;
    }
    if (!COMPRESSIBLE.test(entry.name) || statSync(path).size < MIN_BYTES) continue;
    const body = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(body, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    written++;
  }
  return written;
}

export function precompressIntegration(): AstroIntegration {
  return {
    name: 'opslab-precompress',
    hooks: {
      'astro:build:done': ({ dir, logger }) => {
        logger.info(`${precompress(fileURLToPath(dir))} files precompressed (gzip, brotli)`);
      },
    },
  };
}
