/**
 * A room of two nodes behind HAProxy, in Debian's chromium: the tests' own PostgreSQL and HAProxy
 * (sandbox-server/test/postgres-server.ts, haproxy-server.ts with deploy/haproxy/haproxy.cfg), two
 * server processes. The lesson page comes through the balancer; Check ✓; the node that holds the
 * attendee is killed; the page reconnects by itself — to the other node, which re-creates the
 * sandbox with the step replayed — and the step is still ✓.
 */
import { expect, test } from '@playwright/test';
import { startTestHaproxy } from '../sandbox-server/test/haproxy-server.ts';
import { startTestPostgres } from '../sandbox-server/test/postgres-server.ts';
import { freePort } from '../sandbox-server/test/server-process.ts';
import { startOwnServer } from './own-server.ts';
import { terminalScreen, typeInTerminal } from './page-helpers.ts';

// Two nodes' uids after the own servers' range (own-server.ts): disjoint from every other server.
const NODE_UID_BASE = Number(process.env.OPSLAB_E2E_UID_BASE ?? 650_000) + 1200;

test('through HAProxy: Check ✓, the node holding the attendee killed, the page reconnects to the other node and the step is still ✓', async ({ page, context }) => {
  test.setTimeout(180_000);
  const postgres = await startTestPostgres();
  const ports = { lb: await freePort(), a: await freePort(), b: await freePort(), none: await freePort() };
  const lb = `http://127.0.0.1:${ports.lb}`;
  const databaseUrl = postgres.url(await postgres.createDatabase('opslab_e2e_room'));
  const node = (id: string, port: number, uidBase: number) =>
    startOwnServer({
      OPSLAB_NODE_ID: id,
      OPSLAB_DATABASE_URL: databaseUrl,
      OPSLAB_PUBLIC_ORIGINS: lb,
      OPSLAB_TRUSTED_PROXIES: '127.0.0.1',
      OPSLAB_UID_BASE: String(uidBase),
    }, port);
  const nodes = { 'node-a': await node('node-a', ports.a, NODE_UID_BASE), 'node-b': await node('node-b', ports.b, NODE_UID_BASE + 100) };
  // The shipped configuration names three nodes: the third's address has nobody (it stays down).
  const haproxy = await startTestHaproxy(ports.lb, { a: ports.a, b: ports.b, c: ports.none });
  try {
    await expect.poll(async () => { const s = await haproxy.states(); return [s['node-a'], s['node-b']]; }, { timeout: 30_000 }).toEqual(['UP', 'UP']);
    await page.goto(`${lb}/lessons/getting-started/`);
    const terminal = page.locator('opslab-terminal[data-terminal="main"]');
    await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });
    const step = page.locator('section.step[data-step="create-file"]');
    await step.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
    await expect(terminalScreen(page)).toContainText('Hello, Opslab!');
    await step.getByRole('button', { name: 'Check' }).click();
    await expect(step).toHaveAttribute('data-state', 'passed');

    // The node the balancer sends this attendee to is the one their cookie names: it dies.
    const holder = (await context.cookies(lb)).find((c) => c.name === 'opslab_node')?.value as keyof typeof nodes | undefined;
    expect(holder === 'node-a' || holder === 'node-b', `the page's response named the attendee's node (${holder})`).toBe(true);
    nodes[holder!].kill();
    // No click: the page reconnects by itself, to the other node, which replays the passed step and says so.
    await expect(page.locator('.notice')).toContainText('Your sandbox was re-created; completed steps were replayed', { timeout: 60_000 });
    await expect(terminal).toHaveAttribute('data-state', 'ready');
    await expect(step).toHaveAttribute('data-state', 'passed');
    await expect(page.locator('.step-count')).toHaveText('1 of 4 done');
    await typeInTerminal(page, 'cat ~/hello.txt; echo "on=$((40+2))"');
    await expect(terminalScreen(page)).toContainText('on=42');
    await expect(terminalScreen(page)).toContainText('Hello, Opslab!');
    const now = (await context.cookies(lb)).find((c) => c.name === 'opslab_node')?.value;
    expect(now, 'the cookie now names the node that took the attendee over').toBe(holder === 'node-a' ? 'node-b' : 'node-a');
  } finally {
    await haproxy.stop();
    for (const n of Object.values(nodes)) await n.stop();
    await postgres.stop();
  }
});
