/**
 * A workshop in the browser: the instructor signs in and creates an event, the projector page and
 * the dashboard are open beside two attendees' pages (a laptop and a phone). An attendee joins by
 * code and passes a step → its cell turns ✓ without a reload; the other raises a hand → it is in
 * the queue, and "On my way" reaches them; a broadcast shows on both pages. axe finds nothing on
 * any of these pages.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { terminalScreen } from './page-helpers.ts';

// Written to docs/ with OPSLAB_UPDATE_SCREENSHOT=1 (the README's), else to test-results/.
const shotDir = process.env.OPSLAB_UPDATE_SCREENSHOT ? '../docs/screenshots/' : '../test-results/screenshots/';
const shot = (page: Page, name: string) => page.screenshot({ path: fileURLToPath(new URL(`${shotDir}${name}.png`, import.meta.url)), fullPage: true });

const stateDir = `/tmp/opslab-e2e-${process.env.OPSLAB_E2E_PORT ?? 4391}`;

async function noViolations(page: Page, what: string): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `axe on ${what}`).toEqual([]);
}

async function noHorizontalOverflow(page: Page): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  expect(scrollWidth, `${page.url()} is wider than the screen`).toBeLessThanOrEqual(clientWidth);
}

async function attendeePage(browser: Browser, phone: boolean): Promise<Page> {
  const context = await browser.newContext(phone ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

test('a workshop: projector, dashboard and two attendees, live', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const instructorContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const instructor = await instructorContext.newPage();

  // Sign in with the token the server made at its first start (kept next to its database).
  await instructor.goto('/instructor');
  await expect(instructor.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await noViolations(instructor, '/instructor, signed out');
  await instructor.getByLabel('Instructor token').fill('wrong token');
  await instructor.getByRole('button', { name: 'Sign in' }).click();
  await expect(instructor.locator('.sign-in .form-result')).toContainText('not the instructor token');
  await instructor.getByLabel('Instructor token').fill(readFileSync(`${stateDir}/instructor.token`, 'utf8').trim());
  await instructor.getByRole('button', { name: 'Sign in' }).click();
  await expect(instructor.getByRole('heading', { name: 'Create an event' })).toBeVisible();

  await instructor.getByLabel('Title').fill('Ops Day e2e');
  // Two attendees come: the warm pool makes sandboxes for 70 % of those expected.
  await instructor.getByLabel('Attendees expected').fill('2');
  await instructor.getByRole('button', { name: 'Create event' }).click();
  await expect(instructor.locator('.create-form .form-result')).toContainText('Created: code');
  const code = /code ([2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3})/.exec((await instructor.locator('.create-form .form-result').textContent()) ?? '')![1]!;
  await noViolations(instructor, '/instructor, signed in');
  await instructor.getByRole('link', { name: 'Ops Day e2e' }).first().click();
  await expect(instructor.locator('.dash-title')).toHaveText('Ops Day e2e');
  await expect(instructor.locator('.dash-code')).toHaveText(code);

  const projector = await instructorContext.newPage();
  await projector.goto(instructor.url() + '/projector');
  await expect(projector.locator('.projector-code')).toHaveText(code);
  await expect(projector.locator('.projector-qr svg')).toBeVisible();
  await expect(projector.locator('.projector-agenda [aria-current]')).toContainText('Getting started');
  await noViolations(projector, 'the projector page');
  await shot(projector, 'workshop-projector');

  // Ann joins from the link on a laptop; Bob types the code on a phone.
  const ann = await attendeePage(browser, false);
  await ann.goto(`/join?code=${code.replace('-', '')}`);
  await ann.getByLabel('Your name').fill('Ann');
  await noViolations(ann, '/join');
  await ann.getByRole('button', { name: 'Join' }).click();
  await expect(ann).toHaveURL(/\/lessons\/getting-started\/$/);
  await expect(ann.locator('.event-title')).toHaveText('Ops Day e2e');
  await expect(ann.locator('.event-clock')).toContainText(/\d+:\d\d left/);

  const bob = await attendeePage(browser, true);
  // By keyboard only: the code field has the focus, Tab goes to the name, Enter joins.
  await bob.goto('/join');
  await expect(bob.getByLabel('Event code')).toBeFocused();
  await bob.keyboard.type(code.toLowerCase());
  await bob.keyboard.press('Tab');
  await expect(bob.getByLabel('Your name')).toBeFocused();
  await bob.keyboard.type('Bob');
  await bob.keyboard.press('Enter');
  await expect(bob).toHaveURL(/\/lessons\/getting-started\/$/);
  await noHorizontalOverflow(bob);

  const rowOf = (name: string) => instructor.locator('.grid tbody tr', { has: instructor.getByRole('rowheader', { name: new RegExp(name) }) });
  await expect(rowOf('Ann')).toBeVisible();
  await expect(rowOf('Bob')).toBeVisible();

  // Ann does the first step in her terminal and checks it: her cell turns ✓ on the dashboard.
  const terminal = ann.locator('opslab-terminal[data-terminal="main"]');
  await expect(terminal).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await terminal.locator('.xterm').click();
  await ann.keyboard.type("echo 'Hello, Opslab!' > ~/hello.txt\n");
  await expect(terminalScreen(ann)).toContainText('hello.txt');
  await ann.locator('section.step[data-step="create-file"]').getByRole('button', { name: 'Check' }).click();
  await expect(ann.locator('section.step[data-step="create-file"]')).toHaveAttribute('data-state', 'passed');
  await expect(rowOf('Ann').locator('td[data-step="create-file"]')).toHaveText('✓');

  // Bob raises his hand with a line of text: it is in the queue; "On my way" reaches his page.
  // By keyboard: Enter on the button opens the dialog with the text field focused; Enter raises the hand.
  await bob.locator('.event-bar').getByRole('button', { name: /Raise hand/ }).focus();
  await bob.keyboard.press('Enter');
  const dialog = bob.getByRole('dialog', { name: 'Ask the instructor for help' });
  await expect(dialog.getByLabel('What are you stuck on?')).toBeFocused();
  await bob.keyboard.type('where is my home?');
  await bob.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  await expect(bob.locator('.hand-button')).toHaveAttribute('data-hand', 'waiting');
  await expect(instructor.locator('.help-list li')).toContainText('Bob');
  await expect(instructor.locator('.help-list li')).toContainText('where is my home?');
  await expect(rowOf('Bob').getByRole('rowheader')).toContainText('hand up');
  await noViolations(instructor, 'the dashboard with a row, a hand and a pass');
  await shot(instructor, 'workshop-dashboard');
  await instructor.getByRole('button', { name: 'On my way to Bob' }).click();
  await expect(bob.locator('.hand-button')).toHaveAttribute('data-hand', 'on-the-way');
  await noViolations(bob, 'a lesson page in an event, on a phone');

  // A broadcast shows on both attendees' pages.
  await instructor.getByLabel("A banner on every attendee's page").fill('Break in five minutes');
  await instructor.getByRole('button', { name: 'Broadcast' }).click();
  for (const page of [ann, bob]) await expect(page.locator('.event-banner')).toContainText('Break in five minutes');
  await ann.getByRole('button', { name: 'Dismiss this message' }).click();
  await expect(ann.locator('.event-banner')).toBeHidden();

  // The instructor shadows Ann: sees her scrollback and what she types; types only once she allows it.
  await instructor.getByRole('button', { name: "Watch Ann's terminal" }).click();
  const shadow = instructor.getByRole('dialog', { name: /Shadowing Ann/ });
  await expect(shadow.locator('.xterm-rows')).toContainText('hello.txt');
  await expect(ann.locator('.shadow-notice')).toContainText('The instructor is watching your “main” terminal.');
  await terminal.locator('.xterm').click();
  await ann.keyboard.type('echo typed-by-$((40+2))\n');
  await expect(shadow.locator('.xterm-rows')).toContainText('typed-by-42');
  await shadow.getByRole('button', { name: 'Ask to type' }).click();
  await expect(ann.locator('.shadow-notice')).toContainText('asks to type');
  await expect(shadow.locator('.shadow-status')).toContainText('waiting for the attendee');
  await ann.getByRole('button', { name: 'Allow', exact: true }).click();
  await expect(shadow.locator('.shadow-status')).toContainText('the keyboard is yours');
  await expect(ann.locator('.shadow-notice')).toContainText('The instructor can type');
  await shadow.locator('.xterm').click();
  await instructor.keyboard.type('echo driven-$((5*5))\n');
  await expect(terminalScreen(ann)).toContainText('driven-25');
  await ann.getByRole('button', { name: 'End shadowing' }).click();
  await expect(shadow.locator('.shadow-status')).toContainText('Shadowing ended: the attendee ended it');
  await expect(ann.locator('.shadow-notice')).toBeHidden();
  await shadow.getByRole('button', { name: 'Stop watching' }).click();

  // The pace chart counts Ann's pass; the export has both attendees.
  await expect(instructor.locator('.pace-words')).toContainText('Create a file 1 of 2');
  const csv = await instructor.request.get(`${baseURL}/api/instructor/events/${/events\/([0-9a-f]{12})/.exec(instructor.url())![1]}/export.csv`);
  expect(await csv.text()).toMatch(/,Ann,getting-started,create-file,passed,1,/);


  // Every workshop page fits a phone's screen (the grid scrolls inside its own box).
  const phone = await instructorContext.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  const dashboardPath = new URL(instructor.url()).pathname;
  for (const [path, loaded] of [
    ['/join', phone.getByRole('button', { name: 'Join' })],
    ['/instructor', phone.getByRole('heading', { name: 'Create an event' })],
    [dashboardPath, phone.locator('main.dashboard[aria-busy="false"]')],
    [`${dashboardPath}/projector`, phone.locator('main.projector[aria-busy="false"]')],
  ] as const) {
    await phone.goto(path);
    await expect(loaded).toBeVisible();
    await noHorizontalOverflow(phone);
    if (path === dashboardPath) await shot(phone, 'workshop-dashboard-phone');
  }
  await phone.close();

  // The instructor ends the event: the attendees' pages say so, and no one can join any more.
  instructor.once('dialog', (dialog) => void dialog.accept());
  await instructor.getByRole('button', { name: 'End event' }).click();
  await expect(instructor.locator('.dash-left')).toHaveText('ended');
  await expect(bob.locator('.event-clock')).toHaveText('Event ended');
  await instructorContext.close();
});
