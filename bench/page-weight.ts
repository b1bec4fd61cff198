/** What a lesson page makes the browser download: its JS and CSS, as sent and gzip-compressed. */
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import type { FigureRow } from './stats.ts';

export async function benchPageWeight(browser: Browser, url: string, lessons: string[]): Promise<FigureRow[]> {
  const rows: FigureRow[] = [];
  for (const lesson of lessons) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const assets: Array<Promise<{ type: string; raw: number; gzip: number; sent: number; encoding: string }>> = [];
      page.on('response', (response) => {
        const type = response.request().resourceType();
        if (type !== 'script' && type !== 'stylesheet') return;
        assets.push(
          (async () => {
            const body = await response.body();
            const sent = (await response.request().sizes()).responseBodySize;
            return { type, raw: body.length, gzip: gzipSync(body, { level: 9 }).length, sent, encoding: (await response.allHeaders())['content-encoding'] ?? 'identity' };
          })(),
        );
      });
      await page.goto(`${url}/lessons/${lesson}/`, { waitUntil: 'networkidle' });
      const loaded = await Promise.all(assets);
      const sum = (type: string, key: 'raw' | 'gzip' | 'sent') => loaded.filter((a) => a.type === type).reduce((s, a) => s + a[key], 0);
      const total = sum('script', 'gzip') + sum('stylesheet', 'gzip');
      rows.push({
        what: `lesson page weight, \`${lesson}\` (JS + CSS the page loads, gzip)`,
        value: `${(total / 1024).toFixed(1)} KB: JS ${(sum('script', 'gzip') / 1024).toFixed(1)} KB + CSS ${(sum('stylesheet', 'gzip') / 1024).toFixed(1)} KB`,
        target: '≤ 200 KB',
        met: total <= 200 * 1024,
        note: `${loaded.length} files; ${((sum('script', 'raw') + sum('stylesheet', 'raw')) / 1024).toFixed(1)} KB uncompressed; as sent to chromium over http://localhost: ${((sum('script', 'sent') + sum('stylesheet', 'sent')) / 1024).toFixed(1)} KB (${[...new Set(loaded.map((a) => a.encoding))].join(', ')})`,
      });
    } finally {
      await context.close();
    }
  }
  return rows;
}
