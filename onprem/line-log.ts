// The JSON log lines of an on-prem service, written to stdout once per turn of the event loop:
// a line per request made a synchronous write(2) per request (stdout to a file or a pipe is
// synchronous in Node), where one write carries every line of the turn. The lines of a turn
// are written before the next I/O is polled, and at exit, so none is held back for long.

export type LineLog = ((line: Record<string, unknown>) => void) & {
  /** writes what is waiting now and stops watching for the process's exit (at the service's close) */
  close(): void;
};

export function lineLog(write: (text: string) => void = (t) => process.stdout.write(t)): LineLog {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    write(text);
  };
  process.on('exit', flush);
  const log = (line: Record<string, unknown>) => {
    pending.push(`${JSON.stringify(line)}\n`);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return Object.assign(log, {
    close() {
      flush();
      process.off('exit', flush);
    },
  });
}
