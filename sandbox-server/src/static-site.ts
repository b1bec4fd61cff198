/**
 * The built site's files. Which files exist is read once at start, so no request path can name
 * anything else (no traversal to check at request time); each response is written by `send`
 * (pillarjs), which parses Range and If-Range per RFC 9110, answers conditional requests and
 * HEAD, and handles its file stream's errors itself (docs/decisions.md: why not sirv).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { contentType } from 'mime-types';
import send from 'send';

/** The precompressed copies the build writes beside a text asset (src/build/precompress.ts). */
const ENCODINGS = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;
type Encoding = (typeof ENCODINGS)[number][0];

interface SiteFile {
  path: string;
  type: string;
  variants: Partial<Record<Encoding, string>>;
}

/** Content codings the client accepts (q > 0), from Accept-Encoding; malformed parts are ignored. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name && (q === undefined || Number(q) > 0)) accepted.add(name);
  }
  return accepted;
}

export class StaticSite {
  private readonly files = new Map<string, SiteFile>();

  constructor(private readonly dir: string) {
    const all = new Set((readdirSync(dir, { recursive: true }) as string[]).filter((rel) => statSync(join(dir, rel)).isFile()));
    for (const rel of all) {
      if (ENCODINGS.some(([, ext]) => rel.endsWith(ext) && all.has(rel.slice(0, -ext.length)))) continue;
      const variants: SiteFile['variants'] = {};
      for (const [name, ext] of ENCODINGS) if (all.has(rel + ext)) variants[name] = join(dir, rel + ext);
      const file: SiteFile = { path: join(dir, rel), type: contentType(rel.split(sep).pop()!) || 'application/octet-stream', variants };
      const url = `/${rel.split(sep).join('/')}`;
      this.files.set(url, file);
      // Pages are linked as /lessons/x/ and also typed as /lessons/x: both name index.html.
      if (url.endsWith('/index.html')) {
        this.files.set(url.slice(0, -'index.html'.length), file);
        if (url !== '/index.html') this.files.set(url.slice(0, -'/index.html'.length), file);
      }
    }
  }

  get has404(): boolean {
    return this.files.has('/404.html');
  }

  /** Answers the request if `pathname` is a file of the site; returns false (nothing sent) otherwise. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    const file = this.files.get(pathname);
    if (!file) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
      res.end('Method not allowed');
      return true;
    }
    const accepted = acceptedEncodings(req.headers['accept-encoding']);
    const encoding = ENCODINGS.map(([name]) => name).find((name) => file.variants[name] && accepted.has(name));
    if (Object.keys(file.variants).length > 0) res.setHeader('Vary', 'Accept-Encoding');
    if (encoding) res.setHeader('Content-Encoding', encoding);
    res.setHeader('Content-Type', file.type);
    // Astro's /_astro/ names carry a content hash: they never change. Pages are revalidated (ETag).
    const hashed = pathname.startsWith('/_astro/');
    send(req, encoding ? file.variants[encoding]! : file.path, { etag: true, lastModified: true, index: false, dotfiles: 'allow', maxAge: hashed ? '1y' : 0, immutable: hashed })
      .on('error', (error: { status?: number; message: string }) => {
        // ENOENT after a rebuild, EMFILE under load: this request's answer only.
        const status = error.status && error.status < 500 ? error.status : 503;
        if (res.headersSent) return void res.destroy();
        res.removeHeader('Content-Encoding');
        res.writeHead(status, { 'content-type': 'text/plain', 'retry-after': '1' });
        res.end(status === 503 ? 'Busy: try again in a moment' : error.message);
      })
      .pipe(res);
    return true;
  }
}
