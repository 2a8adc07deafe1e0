/**
 * Reads a VM's serial console: lines before the begin marker are boot noise
 * (kept, the last few KiB, for diagnostics); lines after it are the
 * command's output, up to the exit marker, which carries its exit code.
 * Pure: no timers, no I/O; the caller feeds it qemu's stdout.
 * @module
 */
import { BEGIN_MARKER, RXE_UP_MARKER, findExitMarker } from './markers.js';

/** How much of the boot console a failure report shows, in characters. */
export const BOOT_LOG_TAIL = 4000;

/** What {@link ConsoleParser} reports as it reads. */
export interface ConsoleEvents {
  /** The command's output, a line (with its newline) at a time. */
  onOutput(text: string): void;
  /** The begin marker: the command starts now. */
  onBegin(): void;
  /** A pair VM's rxe0 is up; it now waits for its peer. */
  onRxeUp(): void;
  /** A line of boot noise. */
  onBootLine(line: string): void;
}

/** Splits the console into lines and sorts them by the markers. */
export class ConsoleParser {
  #begun = false;
  #exitCode: number | undefined;
  #output = '';
  #bootLog = '';
  #partial = '';
  readonly #events: ConsoleEvents;

  /** Never throws. */
  constructor(events: ConsoleEvents) {
    this.#events = events;
  }

  /** The begin marker was seen: the command started. */
  get begun(): boolean {
    return this.#begun;
  }

  /** The command's exit code, from the exit marker or {@link settle}; undefined while it runs. */
  get exitCode(): number | undefined {
    return this.#exitCode;
  }

  /** Everything the command printed. */
  get output(): string {
    return this.#output;
  }

  /** The last {@link BOOT_LOG_TAIL} characters of boot noise. */
  get bootLog(): string {
    return this.#bootLog.slice(-BOOT_LOG_TAIL);
  }

  /** Feeds a chunk of console text (CRs are dropped; a partial line waits for its end). */
  write(chunk: string): void {
    this.#partial += chunk.replace(/\r/g, '');
    let nl: number;
    while ((nl = this.#partial.indexOf('\n')) >= 0) {
      this.#line(this.#partial.slice(0, nl));
      this.#partial = this.#partial.slice(nl + 1);
    }
  }

  /** The console closed: reads the last line even without its newline. */
  end(): void {
    if (this.#partial) this.#line(this.#partial);
    this.#partial = '';
  }

  /** Sets the exit code unless the command already gave one; what follows is ignored. */
  settle(code: number): void {
    this.#exitCode ??= code;
  }

  #line(line: string): void {
    if (this.#exitCode !== undefined) return;
    const exit = findExitMarker(line);
    if (exit) {
      if (this.#begun && exit.before) this.#emit(exit.before + '\n');
      this.#exitCode = exit.code;
    } else if (this.#begun) {
      this.#emit(line + '\n');
    } else if (line.includes(BEGIN_MARKER)) {
      this.#begun = true;
      this.#events.onBegin();
    } else if (line.includes(RXE_UP_MARKER)) {
      this.#events.onRxeUp();
    } else {
      this.#events.onBootLine(line);
      this.#bootLog += line + '\n';
      // Bounded: only the tail is ever shown.
      if (this.#bootLog.length > 4 * BOOT_LOG_TAIL) this.#bootLog = this.#bootLog.slice(-BOOT_LOG_TAIL);
    }
  }

  #emit(text: string): void {
    this.#output += text;
    this.#events.onOutput(text);
  }
}
