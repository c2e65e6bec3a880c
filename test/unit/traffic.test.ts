// --stop-delay auto's watch (shell/probes/traffic.ts) on scripted readings of the kernel's
// table and of the namespace's count of accepted connections, on fake timers: what counts
// as an arrival after the stop request, and when. The e2e tests (test/e2e/stop-delay.test.ts)
// run it on the real kernel; the fleet bench compares it with haproxy's log.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acceptedInNamespace, watchTraffic, type DiagSocket, type TrafficReading } from '../../src/shell/probes/traffic.js';
import { ownAccepts } from '../../src/shell/probes/accepts.js';

const PORT = 8080;
const ESTABLISHED = 1;
const TIME_WAIT = 6;

// A connection to the program's port: its cookie, when its data last came (on the watch's
// clock; the table says how long ago), its data segments, its state.
interface Conn {
  cookie: string;
  dataAt: number | null;
  segs: number | null;
  state: number;
}
const conn = (cookie: string, dataAt: number | null, segs: number | null = 1, state = ESTABLISHED): Conn => ({ cookie, dataAt, segs, state });
const asTable = (conns: Conn[], t: number): DiagSocket[] =>
  conns.map((c) => ({ cookie: c.cookie, state: c.state, localPort: PORT, lastDataRecvMs: c.dataAt === null ? null : t - c.dataAt, dataSegsIn: c.segs, inode: 1 }));

// One scripted step: what the count says (read first), then what the table shows.
interface Reading {
  accepted: number | null;
  table: Conn[];
}

// Runs the watch from a stop request at t=1000 over `readings` (the first at the start, then
// one every 100 ms); the last report.
async function watch(readings: Reading[], withCount = true): Promise<TrafficReading> {
  let t = 1000;
  let i = -1;
  let current: Reading = readings[0]!;
  const reports: TrafficReading[] = [];
  const stop = watchTraffic(
    [PORT],
    1000,
    () => t,
    (r) => reports.push(r),
    async () => asTable(current.table, t),
    withCount
      ? () => {
          i = Math.min(i + 1, readings.length - 1);
          current = readings[i]!;
          return current.accepted;
        }
      : null,
  );
  if (!withCount) {
    // Without a count, each reading is the next table.
    let j = 0;
    current = readings[0]!;
    await vi.advanceTimersByTimeAsync(0);
    for (j = 1; j < readings.length; j++) {
      current = readings[j]!;
      t += 100;
      await vi.advanceTimersByTimeAsync(100);
    }
  } else {
    await vi.advanceTimersByTimeAsync(0);
    for (let j = 1; j < readings.length; j++) {
      t += 100;
      await vi.advanceTimersByTimeAsync(100);
    }
  }
  stop();
  return reports.at(-1)!;
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('the traffic watch', () => {
  it('a request on a kept-alive connection after the stop request is an arrival, at its own time', async () => {
    const last = await watch([
      { accepted: 5, table: [conn('a', 400, 3)] },
      { accepted: 5, table: [conn('a', 400, 3)] },
      // 30 ms before this reading (t=1200): one more data segment.
      { accepted: 5, table: [conn('a', 1170, 4)] },
    ]);
    expect(last).toEqual({ arrivals: 1, lastArrivalAt: 1170, watched: true , seenUntil: 1200 });
  });

  it('a reading that comes back late makes no idle connection look busy: new data is told by its count of segments', async () => {
    // The same idle connection, its data 600 ms before the request; each reading "comes back"
    // later than the one before, so "ms ago" made a time on this clock moves forward.
    const last = await watch([
      { accepted: null, table: [conn('a', 400, 3)] },
      { accepted: null, table: [conn('a', 800, 3)] },
      { accepted: null, table: [conn('a', 1150, 3)] },
    ], false);
    expect(last).toEqual({ arrivals: 0, lastArrivalAt: null, watched: true, seenUntil: 1200 });
  });

  it('a first reading that comes back late takes no request from before the stop request for an arrival', async () => {
    // The dump is made at 1000 (the request), and comes back at 1450: data 100 ms before the
    // dump was before the request, though 1450 - 100 is after it.
    let t = 1000;
    const reports: TrafficReading[] = [];
    const stop = watchTraffic([PORT], 1000, () => t, (r) => reports.push(r), async () => {
      const table = asTable([conn('a', 900, 3)], 1000);
      t = 1450;
      return table;
    });
    await vi.advanceTimersByTimeAsync(0);
    stop();
    expect(reports[0]).toEqual({ arrivals: 0, lastArrivalAt: null, watched: true, seenUntil: 1000 });
  });

  it('a connection that came and went between two readings is counted from the namespace, dated at the reading after it', async () => {
    const last = await watch([
      { accepted: 5, table: [conn('a', 400, 3)] },
      { accepted: 5, table: [conn('a', 400, 3)] },
      // Two connections accepted and closed (their peer closed first): nothing in the table.
      { accepted: 7, table: [conn('a', 400, 3)] },
      { accepted: 7, table: [conn('a', 400, 3)] },
    ]);
    expect(last).toEqual({ arrivals: 2, lastArrivalAt: 1200, watched: true , seenUntil: 1300 });
  });

  it('without the count (a shared namespace), such a connection is not seen', async () => {
    const last = await watch(
      [
        { accepted: null, table: [conn('a', 400, 3)] },
        { accepted: null, table: [conn('a', 400, 3)] },
        { accepted: null, table: [conn('a', 400, 3)] },
      ],
      false,
    );
    expect(last).toEqual({ arrivals: 0, lastArrivalAt: null, watched: true , seenUntil: 1200 });
  });

  it('a connection both counted and shown by the table is one arrival, at its data time', async () => {
    const last = await watch([
      { accepted: 5, table: [] },
      { accepted: 6, table: [conn('b', 1060, 1)] },
      { accepted: 6, table: [conn('b', 1060, 1)] },
    ]);
    expect(last).toEqual({ arrivals: 1, lastArrivalAt: 1060, watched: true , seenUntil: 1200 });
  });

  it('one accepted between the count and the dump is counted once, and does not hide the next unseen one', async () => {
    const last = await watch([
      { accepted: 5, table: [] },
      // The table shows b before the count has it.
      { accepted: 5, table: [conn('b', 1090, 1)] },
      { accepted: 6, table: [conn('b', 1090, 1)] },
      // Then c comes and goes unseen.
      { accepted: 7, table: [conn('b', 1090, 1)] },
    ]);
    expect(last).toEqual({ arrivals: 2, lastArrivalAt: 1300, watched: true , seenUntil: 1300 });
  });

  it('a connection left in TIME_WAIT by a server that closed first is a new connection: an arrival', async () => {
    const last = await watch(
      [
        { accepted: null, table: [] },
        { accepted: null, table: [conn('c', null, null, TIME_WAIT)] },
      ],
      false,
    );
    expect(last).toEqual({ arrivals: 1, lastArrivalAt: 1100, watched: true , seenUntil: 1100 });
  });

  it('work from before the stop request is no arrival', async () => {
    const last = await watch([
      { accepted: 5, table: [conn('a', 500, 3)] },
      // A connection first seen now whose data came before the request (t=1000).
      { accepted: 6, table: [conn('a', 500, 3), conn('d', 700, 1)] },
    ]);
    expect(last).toEqual({ arrivals: 0, lastArrivalAt: null, watched: true , seenUntil: 1100 });
  });
});

describe('what the watch asks the kernel for', () => {
  it('every state without the count; without TIME_WAIT with it (the count has the closed connections)', async () => {
    const asked: number[] = [];
    const run = async (accepted: (() => number) | null) => {
      const stop = watchTraffic([PORT], 0, () => 0, () => {}, async (_ports, states) => (asked.push(states), []), accepted);
      await vi.advanceTimersByTimeAsync(150);
      stop();
    };
    await run(null);
    expect(asked.every((m) => m === 0xffffffff)).toBe(true);
    asked.length = 0;
    await run(() => 5);
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((m) => m === 0xffffffbf)).toBe(true);
  });
});

describe('a reading that fails', () => {
  it('ends the watch with what it saw, marked not watched (the machine then waits the floor), and throws nothing', async () => {
    const reports: TrafficReading[] = [];
    let calls = 0;
    const stop = watchTraffic([PORT], 0, () => 0, (r) => reports.push(r), async () => {
      if (++calls > 1) throw new RangeError('a bad request');
      return [];
    });
    await vi.advanceTimersByTimeAsync(350);
    stop();
    expect(calls).toBe(2);
    expect(reports.at(-1)).toEqual({ arrivals: 0, lastArrivalAt: null, watched: false, seenUntil: null });
  });
});

describe("the namespace's count", () => {
  const snmp = (passive: number) => () =>
    `Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails\nTcp: 1 200 120000 -1 12 ${passive} 0\n`;

  it("is Tcp PassiveOpens less what graceful's own listeners accepted", () => {
    const before = ownAccepts.count;
    try {
      ownAccepts.count = 4;
      expect(acceptedInNamespace(snmp(10))).toBe(6);
    } finally {
      ownAccepts.count = before;
    }
  });

  it('is null where it cannot be read', () => {
    expect(
      acceptedInNamespace(() => {
        throw new Error('ENOENT');
      }),
    ).toBe(null);
    expect(acceptedInNamespace(() => 'Udp: InDatagrams\nUdp: 1\n')).toBe(null);
  });
});
