/** The bytes the page's own keys send: the on-screen key row (key-bar.ts) and the font size keys (terminal-keys.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyBytes, withCtrl } from './key-bar.ts';
import { fontSizeStep, isRegionKey } from './terminal-keys.ts';

test('the key row sends what a keyboard sends, in both cursor key modes', () => {
  assert.equal(keyBytes('esc', false, false), '\x1b');
  assert.equal(keyBytes('tab', false, false), '\t');
  assert.equal(keyBytes('up', false, false), '\x1b[A');
  assert.equal(keyBytes('left', false, false), '\x1b[D');
  // vim, less and friends switch the terminal to application cursor keys.
  assert.equal(keyBytes('down', false, true), '\x1bOB');
  assert.equal(keyBytes('right', true, false), '\x1b[1;5C');
  assert.equal(keyBytes('right', true, true), '\x1b[1;5C');
  assert.equal(keyBytes('ctrl', false, false), undefined);
});

test('the sticky Ctrl turns the next typed character into its control code', () => {
  assert.equal(withCtrl('c'), '\x03');
  assert.equal(withCtrl('C'), '\x03');
  assert.equal(withCtrl('d'), '\x04');
  assert.equal(withCtrl('['), '\x1b');
  assert.equal(withCtrl('@'), '\x00');
  assert.equal(withCtrl(' '), '\x00');
  assert.equal(withCtrl('?'), '\x7f');
  // Not a control key, or more than one character (a paste, a word from the phone's keyboard): unchanged.
  assert.equal(withCtrl('1'), '1');
  assert.equal(withCtrl('ls'), 'ls');
});

test('Ctrl + / Ctrl − / Ctrl 0 are the font size keys; Ctrl _ and plain keys stay the shell\'s', () => {
  const key = (init: Partial<KeyboardEvent>) => ({ ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...init }) as KeyboardEvent;
  assert.equal(fontSizeStep(key({ key: '=', ctrlKey: true })), 1);
  assert.equal(fontSizeStep(key({ key: '+', ctrlKey: true, shiftKey: true })), 1);
  assert.equal(fontSizeStep(key({ key: '-', ctrlKey: true })), -1);
  assert.equal(fontSizeStep(key({ key: '-', metaKey: true })), -1);
  assert.equal(fontSizeStep(key({ key: '0', ctrlKey: true })), 0);
  assert.equal(fontSizeStep(key({ key: '_', ctrlKey: true, shiftKey: true })), undefined);
  assert.equal(fontSizeStep(key({ key: '-' })), undefined);
  assert.equal(fontSizeStep(key({ key: '=', ctrlKey: true, altKey: true })), undefined);
  assert.equal(isRegionKey(key({ key: 'F6' })), true);
  assert.equal(isRegionKey(key({ key: 'F6', shiftKey: true })), true);
  assert.equal(isRegionKey(key({ key: 'F6', ctrlKey: true })), false);
});
