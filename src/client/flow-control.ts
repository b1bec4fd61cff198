/**
 * Flow control after xterm.js's guide: count bytes handed to xterm that it has not yet parsed;
 * above the high watermark ask the server to PAUSE the pty, below the low one RESUME it.
 */
import { FLOW } from '../../protocol/messages.ts';

export class FlowControl {
  private pending = 0;
  private paused = false;

  constructor(private readonly signal: (pause: boolean) => void) {}

  /** Call before term.write(data, done); call the returned function from xterm's write callback. */
  written(bytes: number): () => void {
    this.pending += bytes;
    if (!this.paused && this.pending > FLOW.highWatermark) {
      this.paused = true;
      this.signal(true);
    }
    return () => {
      this.pending -= bytes;
      if (this.paused && this.pending < FLOW.lowWatermark) {
        this.paused = false;
        this.signal(false);
      }
    };
  }

  reset(): void {
    this.pending = 0;
    this.paused = false;
  }
}
