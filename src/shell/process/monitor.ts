// The resource monitor (--max-memory, --stats): samples the RSS and CPU time of the child's
// whole tree with pidusage every --monitor-interval. pidusage is loaded only when one of
// those options is given: without them the monitor costs nothing.
import type { ResourceStats } from '../../report/json.js';
import type { Tree } from './tree.js';

export type { ResourceStats };


export interface Monitor {
  /** Stops sampling; the figures so far. */
  stop(): ResourceStats;
}

// Samples the tree of the child `main` every `intervalMs`; calls `over(rss)` once when the
// tree's RSS exceeds `limit`.
export function startMonitor(
  main: number,
  tree: Tree,
  intervalMs: number,
  limit: number | null,
  over: (rssBytes: number) => void,
): Monitor {
  const cpu = new Map<number, number>();
  let peak = 0;
  let samples = 0;
  let fired = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const pidusage = import('pidusage').then((m) => m.default);

  const sample = async () => {
    const usage = await pidusage;
    const pids = [...new Set([main, ...tree.members().map((p) => p.pid)])];
    const stats = await Promise.allSettled(pids.map((pid) => usage(pid)));
    if (stopped) return;
    let rss = 0;
    for (const s of stats) {
      if (s.status !== 'fulfilled') continue; // exited between the scan and the read
      rss += s.value.memory;
      cpu.set(s.value.pid, Math.max(cpu.get(s.value.pid) ?? 0, s.value.ctime));
    }
    samples++;
    peak = Math.max(peak, rss);
    if (limit !== null && rss > limit && !fired) {
      fired = true;
      over(rss);
    }
  };
  const loop = async () => {
    await sample().catch(() => {});
    if (!stopped) timer = setTimeout(loop, intervalMs);
  };
  void loop();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      void pidusage.then((usage) => usage.clear()).catch(() => {});
      return { peakRssBytes: peak, cpuMs: [...cpu.values()].reduce((a, b) => a + b, 0), samples, intervalMs };
    },
  };
}
