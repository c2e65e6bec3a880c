// The seccomp filter of the audit, and the kernel's numbers it needs: per architecture, the
// system calls it traps and the layout of the structures the listener reads and writes. No
// I/O: the shim (shim.ts) installs the program this builds, the receiver (receiver.ts) reads
// notifications with these offsets.

// The node shim's NODE_OPTIONS (the check's preload, the user's own) are the program's, not
// the shim's: graceful puts them aside in this variable, the shim puts them back before its
// exec (audit.ts, shim.ts).
export const SHIM_NODE_OPTIONS = 'GRACEFUL_SHIM_NODE_OPTIONS';

/** The system calls the audit traps, by what they tell it. */
export type TrappedCall = 'exit_group' | 'connect' | 'close' | 'shutdown' | 'listen';

export interface ArchTable {
  /** AUDIT_ARCH_* as seccomp_data.arch carries it: a call made under another ABI is let through. */
  auditArch: number;
  /** x86-64 only: the x32 ABI's calls have this bit set in their number; let through too. */
  x32Bit: number | null;
  nr: Record<TrappedCall, number> & { seccomp: number; pidfd_open: number; pidfd_getfd: number };
}

// Numbers from the kernel's syscall tables (arch/x86/entry/syscalls/syscall_64.tbl,
// include/uapi/asm-generic/unistd.h for arm64); pidfd_open and pidfd_getfd are the same
// on every architecture (434, 438).
const ARCHES: Partial<Record<string, ArchTable>> = {
  x64: {
    auditArch: 0xc000003e,
    x32Bit: 0x40000000,
    nr: { exit_group: 231, connect: 42, close: 3, shutdown: 48, listen: 50, seccomp: 317, pidfd_open: 434, pidfd_getfd: 438 },
  },
  arm64: {
    auditArch: 0xc00000b7,
    x32Bit: null,
    nr: { exit_group: 94, connect: 203, close: 57, shutdown: 210, listen: 201, seccomp: 277, pidfd_open: 434, pidfd_getfd: 438 },
  },
};

// The table of `arch` (process.arch), or null where the audit does not know its numbers.
export function archTable(arch: string): ArchTable | null {
  return ARCHES[arch] ?? null;
}

// The name of a trapped call's number, for the receiver's switch.
export function callOf(table: ArchTable, nr: number): TrappedCall | null {
  for (const [name, n] of Object.entries(table.nr)) if (n === nr && name in TRAPPABLE) return name as TrappedCall;
  return null;
}
const TRAPPABLE: Record<TrappedCall, true> = { exit_group: true, connect: true, close: true, shutdown: true, listen: true };

export const SECCOMP = {
  SET_MODE_FILTER: 1,
  GET_NOTIF_SIZES: 3,
  FLAG_NEW_LISTENER: 1 << 3,
  /** 5.19: once graceful has read a notification, only a fatal signal interrupts the call (see receiver.ts). */
  FLAG_WAIT_KILLABLE_RECV: 1 << 5,
  RET_ALLOW: 0x7fff0000,
  RET_USER_NOTIF: 0x7fc00000,
  USER_NOTIF_FLAG_CONTINUE: 1,
  // _IOWR('!', 0, struct seccomp_notif), _IOWR('!', 1, struct seccomp_notif_resp),
  // _IOW('!', 2, __u64): from include/uapi/linux/seccomp.h, with the sizes below.
  IOCTL_NOTIF_RECV: 0xc0502100,
  IOCTL_NOTIF_SEND: 0xc0182101,
  IOCTL_NOTIF_ID_VALID: 0x40082102,
  // _IOW('!', 4, __u64), Linux 6.6: with USER_NOTIF_FD_SYNC_WAKE_UP, the trapped thread wakes
  // the receiver on its own CPU (a faster round trip); refused before 6.6, which is fine.
  IOCTL_NOTIF_SET_FLAGS: 0x40082104,
  USER_NOTIF_FD_SYNC_WAKE_UP: 1,
  PR_SET_NO_NEW_PRIVS: 38,
} as const;

/**
 * struct seccomp_notif: id (u64), pid (u32), flags (u32), then struct seccomp_data: nr (s32),
 * arch (u32), instruction_pointer (u64), args[6] (u64). 80 bytes; the shim checks the
 * kernel's own figure (SECCOMP_GET_NOTIF_SIZES) before trusting these offsets.
 */
export const NOTIF = { size: 80, id: 0, pid: 8, nr: 16, arch: 20, args: 32 } as const;
/** struct seccomp_notif_resp: id (u64), val (s64), error (s32), flags (u32). 24 bytes. */
export const RESP = { size: 24, id: 0, val: 8, error: 16, flags: 20 } as const;

// Classic BPF opcodes (include/uapi/linux/filter.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
// offsetof(struct seccomp_data, nr / arch)
const DATA_NR = 0;
const DATA_ARCH = 4;

// The filter: `calls` of the native ABI return SECCOMP_RET_USER_NOTIF, everything else is
// allowed. As struct sock_filter[] (8 bytes each: code u16, jt u8, jf u8, k u32), native-endian.
export function filterProgram(table: ArchTable, calls: readonly TrappedCall[], littleEndian: boolean): Buffer {
  const ins: [number, number, number, number][] = [];
  ins.push([LD_W_ABS, 0, 0, DATA_ARCH]);
  // Another ABI (i386 on x86-64, aarch32 on arm64) has other numbers: let it through, unaudited.
  ins.push([JEQ_K, 1, 0, table.auditArch]);
  ins.push([RET_K, 0, 0, SECCOMP.RET_ALLOW]);
  ins.push([LD_W_ABS, 0, 0, DATA_NR]);
  if (table.x32Bit !== null) {
    ins.push([JGE_K, calls.length, 0, table.x32Bit]);
  }
  // Each match jumps over the remaining tests and the ALLOW to the USER_NOTIF at the end.
  calls.forEach((call, i) => ins.push([JEQ_K, calls.length - i, 0, table.nr[call]]));
  ins.push([RET_K, 0, 0, SECCOMP.RET_ALLOW]);
  ins.push([RET_K, 0, 0, SECCOMP.RET_USER_NOTIF]);
  const out = Buffer.alloc(ins.length * 8);
  ins.forEach(([code, jt, jf, k], i) => {
    if (littleEndian) {
      out.writeUInt16LE(code, i * 8);
      out.writeUInt32LE(k >>> 0, i * 8 + 4);
    } else {
      out.writeUInt16BE(code, i * 8);
      out.writeUInt32BE(k >>> 0, i * 8 + 4);
    }
    out.writeUInt8(jt, i * 8 + 2);
    out.writeUInt8(jf, i * 8 + 3);
  });
  return out;
}
