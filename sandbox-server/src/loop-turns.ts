/**
 * One caller per event-loop turn. A room's arrivals come in one poll phase (150 hellos ready at
 * once); if each start's synchronous part ran as soon as the loop got back to it, they would run
 * back to back in one phase, and a keystroke that arrived meanwhile would wait for all of them.
 * Released one per turn, the starts take turns with the loop's I/O: a keystroke waits for one.
 */
const waiting: Array<() => void> = [];
let scheduled = false;

function releaseNext(): void {
  scheduled = false;
  waiting.shift()?.();
  // Scheduled from a check-phase callback, the next release runs on the loop's next turn, after
  // its timers and its poll for I/O.
  if (waiting.length > 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(releaseNext);
}

/** Resolves on a later turn of the event loop than any earlier caller's, in the order of the calls. */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    schedule();
  });
}
