// core/audit/assemble.ts: how a connection still open at exit_group ended, from its TCP state
// then. Pure: events built by hand.
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/core/audit/assemble.js';
import type { RawEvent, TcpState } from '../../src/core/audit/types.js';

const PG = '127.0.0.1:5432';

// A process that connected to Postgres and exited with that socket still open, in `state`.
function exitedWith(state: TcpState, shutdownSeen = false) {
  const events: RawEvent[] = [
    { e: 'process', t: 0, pid: 10, ppid: 1, argv: ['app'] },
    { e: 'connect', t: 1, pid: 10, tid: 10, fd: 7, inode: 500, proto: 'tcp', peer: PG },
    ...(shutdownSeen ? [{ e: 'shutdown' as const, t: 5, pid: 10, tid: 10, fd: 7, inode: 500, how: 1, socket: null }] : []),
    {
      e: 'exit',
      t: 9,
      pid: 10,
      tid: 10,
      code: 0,
      argv: ['app'],
      open: [{ fd: 7, file: null, socket: { inode: 500, proto: 'tcp', local: '127.0.0.1:40554', peer: PG, state, bytesReceived: 300 } }],
    },
  ];
  const [p] = assemble(events, () => false);
  return p!.outbound[0]!;
}

describe('a connection still open at exit', () => {
  it('ESTABLISHED: the kernel closed it (the peer sees the client vanish)', () => {
    expect(exitedWith('established')).toMatchObject({ end: 'kernel', releasedAt: null, stateAtEnd: 'established' });
  });

  it('CLOSE_WAIT: the peer had closed it first', () => {
    expect(exitedWith('close-wait')).toMatchObject({ end: 'peer', stateAtEnd: 'close-wait' });
  });

  it.each(['fin-wait1', 'fin-wait2', 'closing', 'last-ack', 'time-wait'] as const)('%s: its FIN was sent, the program shut it down (even unseen), not the kernel', (state) => {
    expect(exitedWith(state)).toMatchObject({ end: 'shutdown', releasedAt: null, stateAtEnd: state });
  });

  it('a shutdown seen keeps its time', () => {
    expect(exitedWith('fin-wait2', true)).toMatchObject({ end: 'shutdown', releasedAt: 5 });
  });
});
