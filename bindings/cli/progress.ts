// Progress on stderr: a redrawn bar with an ETA on a terminal (from 0.3 s into a solve), plain periodic lines
// elsewhere when asked (--progress), nothing with --no-progress.
import { performance } from 'node:perf_hooks';
import type { Flags } from './flags.js';

const LINE_EVERY_MS = 2000;

export class Progress {
  private readonly mode: 'bar' | 'lines' | 'off';
  private readonly delayMs: number;
  private readonly t0 = performance.now();
  private last = -Infinity;
  private shown = false;
  private spin = 0;

  constructor(
    private readonly label: string,
    flags: Flags,
  ) {
    const tty = process.stderr.isTTY === true;
    this.mode = flags['no-progress'] ? 'off' : tty ? 'bar' : flags.progress ? 'lines' : 'off';
    this.delayMs = flags.progress ? 0 : 300;
  }

  /** `fraction` in [0, 1] (then an ETA is shown), or undefined for an indeterminate spinner. */
  update(text: string, fraction?: number): void {
    if (this.mode === 'off') return;
    const now = performance.now();
    const elapsed = now - this.t0;
    if (elapsed < this.delayMs || now - this.last < (this.mode === 'bar' ? 80 : LINE_EVERY_MS)) return;
    this.last = now;
    const secs = `${(elapsed / 1000).toFixed(1)}s`;
    const eta = fraction !== undefined && fraction > 0.02 && fraction < 1 ? `, ETA ${((elapsed * (1 - fraction)) / fraction / 1000).toFixed(1)}s` : '';
    if (this.mode === 'lines') {
      process.stderr.write(`${this.label}: ${text} (${secs}${eta})\n`);
      return;
    }
    const width = 24;
    let bar: string;
    if (fraction === undefined) {
      const pos = this.spin++ % (2 * width - 2);
      const at = pos < width ? pos : 2 * width - 2 - pos;
      bar = '·'.repeat(at) + '█' + '·'.repeat(width - 1 - at);
    } else {
      const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      bar = '█'.repeat(full) + '·'.repeat(width - full);
    }
    let line = `${this.label} [${bar}] ${text}  ${secs}${eta}`;
    const cols = process.stderr.columns;
    if (cols && line.length > cols - 1) line = line.slice(0, cols - 1);
    process.stderr.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}
