/**
 * A Shiki transformer for click-to-run code blocks: a fence written as ```bash run (or run=node-2
 * for a given terminal) gets data-run on its <pre>; the page adds the ▶ Run button.
 */
import type { ShikiTransformer } from 'shiki';

export function runnableCodeBlocks(): ShikiTransformer {
  return {
    name: 'opslab-run',
    pre(node) {
      const meta = this.options.meta?.__raw ?? '';
      const match = /(?:^|\s)run(?:=([a-z0-9-]+))?(?:\s|$)/.exec(meta);
      if (match) node.properties['data-run'] = match[1] ?? '';
    },
  };
}
