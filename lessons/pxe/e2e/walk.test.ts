/**
 * The PXE lesson in a real browser: the server tab's Run buttons configure eth0 and wlan0, the
 * platform solves NAT, DHCP+TFTP and the menu, then the client console tab boots a diskless QEMU
 * PC that shows the attendee's menu in the web terminal; the arrow keys and Enter reach it.
 */
import { fileURLToPath } from 'node:url';
import { basename } from 'node:path';
import { expect, test } from '@playwright/test';

/** This lesson's slug: its folder's name (a copy under another name tests itself). */
const LESSON = basename(fileURLToPath(new URL('../', import.meta.url)));

test('pxe: network by hand, NAT/DHCP/menu solved, a PC boots to the menu in the client console', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`/lessons/${LESSON}/`);
  const tabs = page.getByRole('tab');
  await expect(tabs).toHaveText(['pxe-server', 'client console']);
  const terminal = (id: string) => page.locator(`opslab-terminal[data-terminal="${id}"]`);
  await expect(terminal('server')).toHaveAttribute('data-state', 'ready', { timeout: 30_000 });

  const network = page.locator('section.step[data-step="network"]');
  await network.getByRole('button', { name: 'Check' }).click();
  await expect(network.locator('output.feedback')).toContainText('eth0 has no address 10.0.0.1/24 yet', { timeout: 30_000 });
  await network.getByRole('button', { name: '▶ Run' }).first().click();
  await expect(terminal('server').locator('.xterm-rows')).toContainText('ip route add default via 192.168.1.1');
  await network.getByRole('button', { name: 'Check' }).click();
  await expect(network.locator('output.feedback')).toContainText('✓ eth0 serves the lab LAN as 10.0.0.1/24', { timeout: 30_000 });

  for (const id of ['nat', 'dhcp', 'menu']) {
    const step = page.locator(`section.step[data-step="${id}"]`);
    await step.locator('details.solution summary').click();
    await step.getByRole('button', { name: 'Solve it for me' }).click();
    await expect(step).toHaveAttribute('data-state', 'solved', { timeout: 60_000 });
  }

  // The boot: its Run button types pxe-client into the client console tab.
  const boot = page.locator('section.step[data-step="boot"]');
  await boot.getByRole('button', { name: '▶ Run' }).first().click();
  const console = terminal('client').locator('.xterm-rows');
  await expect(terminal('client')).toBeVisible();
  await expect(console).toContainText('Opslab PXE Boot Menu', { timeout: 90_000 });
  await expect(console).toContainText('Boot from local disk');
  await boot.getByRole('heading').scrollIntoViewIfNeeded();
  const shot = process.env.OPSLAB_UPDATE_SCREENSHOT ? '../../../docs/screenshot-pxe.png' : '../../../test-results/pxe-menu.png';
  await page.screenshot({ path: fileURLToPath(new URL(shot, import.meta.url)) });

  // The menu takes keys from the web terminal: down to the submenu, Enter opens it (its entries
  // are the proof: "Install a system" is also the main menu's line for it).
  await terminal('client').locator('.xterm-helper-textarea').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(console).toContainText('Debian 12 (bookworm) installer', { timeout: 20_000 });
  // Ctrl-A X quits QEMU; pxe-client gives the shell a clean terminal and the prompt comes back:
  // pxe-client has ended (and machine-turn, which started QEMU in its turn, with it; Check in the
  // moment between the two reads a machine-turn without its QEMU as a boot waiting in the queue).
  await page.keyboard.press('Control+a');
  await page.keyboard.press('x');
  await expect(console).toContainText(/pxe-client: the PC is off\.[\s\S]*root@[\w.-]+:~#/, { timeout: 10_000 });
  await expect(console).not.toContainText('Opslab PXE Boot Menu');

  await boot.getByRole('button', { name: 'Check' }).click();
  await expect(boot.locator('output.feedback')).toContainText('✓ Your PC booted from your server', { timeout: 120_000 });
  await expect(page.locator('.step-count')).toHaveText('5 of 5 done');
});
