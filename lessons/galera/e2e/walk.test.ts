/**
 * The Galera lesson in a real browser: a tab per node, a node tab that waits for its node and
 * opens it by itself (its state on the tab), the host tab's `vagrant up` bringing up a real
 * three-node cluster, and mariadb-02 validated from its own tab as in the seed (`sudo su -`, `mysql -uroot`).
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

/** This lesson's slug: its folder's name (a copy under another name tests itself). */
const LESSON = basename(fileURLToPath(new URL('../', import.meta.url)));

test('galera: tabs per node, vagrant up from the host tab, validate from mariadb-02, then every step', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto(`/lessons/${LESSON}/`);
  const tabs = page.getByRole('tab');
  await expect(tabs).toHaveText([/^host$/, /^mariadb-01( · .*)?$/, /^mariadb-02( · .*)?$/, /^mariadb-03( · .*)?$/]);
  const terminal = (id: string) => page.locator(`opslab-terminal[data-terminal="${id}"]`);
  await expect(terminal('host')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });

  // Before `vagrant up`, a node's tab says its node is not running, shows its state, and waits.
  const tab2 = tabs.filter({ hasText: 'mariadb-02' });
  await tab2.click();
  const node2 = terminal('mariadb-02').locator('.xterm-rows');
  await expect(node2).toContainText('mariadb-02 is not running', { timeout: 30_000 });
  await expect(tab2.locator('.tab-state')).toHaveText(' · not created');
  await expect(tab2).toHaveAccessibleName('mariadb-02 · not created');
  // What the attendee types meanwhile is not lost: it waits for the node's shell.
  await terminal('mariadb-02').locator('.xterm-helper-textarea').focus();
  await page.keyboard.type('sudo su -\n');

  // The Run button of `vagrant up` types it into the host tab (and shows that tab).
  const up = page.locator('section.step[data-step="up"]');
  await up.locator('.code-block').first().getByRole('button', { name: '▶ Run' }).click();
  await expect(terminal('host')).toBeVisible();
  await expect(tab2.locator('.tab-state')).toHaveText(/ · (starting|syncing|up)$/, { timeout: 180_000 });
  await expect(terminal('host').locator('.xterm-rows')).toContainText('mariadb-03: Machine booted and ready!', { timeout: 180_000 });
  await up.getByRole('button', { name: 'Check' }).click();
  await expect(up.locator('output.feedback')).toContainText('✓ Three nodes, one Primary component of 3', { timeout: 30_000 });

  // mariadb-02's tab opened the node by itself, and the `sudo su -` typed while it waited ran there.
  await expect(tab2.locator('.tab-state')).toHaveText(' · up');
  await tab2.click();
  await expect(node2).toContainText('vagrant@mariadb-02:~$', { timeout: 30_000 });
  await expect(node2).toContainText('root@mariadb-02:~#');
  await terminal('mariadb-02').locator('.xterm-helper-textarea').focus();
  await page.keyboard.type(`mysql -uroot -e "SHOW STATUS LIKE 'wsrep_cluster_size'"\n`);
  await expect(node2).toContainText(/wsrep_cluster_size\s*\|\s*3/);

  // The answer step: the state UUID as mariadb-02 shows it.
  await page.keyboard.type(`mysql -uroot -N -e "SHOW STATUS LIKE 'wsrep_cluster_state_uuid'"\n`);
  await expect(node2).toContainText(/wsrep_cluster_state_uuid\s*\|\s*[0-9a-f-]{36}/);
  const uuid = /wsrep_cluster_state_uuid\s*\|\s*([0-9a-f-]{36})/.exec((await node2.textContent())!)![1]!;
  const validate = page.locator('section.step[data-step="validate"]');
  await validate.getByRole('textbox').fill(uuid);
  await validate.getByRole('button', { name: 'Check' }).click();
  await expect(validate.locator('output.feedback')).toContainText(`✓ Right: all three nodes share the state ${uuid}`);

  // The rest, solved by the platform in the attendee's sandbox and checked on the real nodes.
  for (const id of ['replicate', 'lose-node', 'heal', 'quorum']) {
    const step = page.locator(`section.step[data-step="${id}"]`);
    await step.locator('details.solution summary').click();
    await step.getByRole('button', { name: 'Solve it for me' }).click();
    await expect(step).toHaveAttribute('data-state', 'solved', { timeout: 90_000 });
  }
  await expect(page.locator('.step-count')).toHaveText('6 of 6 done');
});
