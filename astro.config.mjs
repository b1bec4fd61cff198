// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import { precompressIntegration } from './src/build/precompress.ts';
import { scrollableTables } from './src/lessons/rehype-tables.ts';
import { runnableCodeBlocks } from './src/lessons/shiki-run.ts';

const serverPort = Number(process.env.OPSLAB_DEV_SERVER_PORT ?? 4322);

export default defineConfig({
  // Lessons are content: pages are built once; per-attendee state arrives over /api and the WebSocket.
  output: 'static',
  integrations: [mdx(), precompressIntegration()],
  markdown: {
    rehypePlugins: [scrollableTables],
    shikiConfig: {
      themes: { light: 'github-light', dark: 'github-dark' },
      transformers: [runnableCodeBlocks()],
    },
  },
  devToolbar: { enabled: false },
  vite: {
    server: {
      // `npm run dev`: the sandbox server runs beside `astro dev`; the page talks to it through these.
      proxy: {
        '/ws': { target: `ws://127.0.0.1:${serverPort}`, ws: true },
        '/api': { target: `http://127.0.0.1:${serverPort}` },
      },
    },
  },
});
