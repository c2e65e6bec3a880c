// The shim and the keeper in perl, where there is one (Debian's perl-base is essential;
// child.ts already execs through perl for raw byte commands): the same protocol and the same
// steps as shim.ts, but a perl starts in about 2 ms where a node needs about 40 ms, and a
// perl keeper holds about 5 MB where a node one holds about 20 (docs/audit-notes.md). The
// filter itself is built by filter.ts and handed over in hex; perl only makes the calls.
import type { ArchTable } from './filter.js';

/** Per architecture: the calls perl makes by number (syscall), beside the table's. */
const PERL_NR: Partial<Record<string, { prctl: number; dup3: number }>> = {
  x64: { prctl: 157, dup3: 292 },
  arm64: { prctl: 167, dup3: 24 },
};

// argv: channel fd, filter (hex), seccomp nr, prctl nr, dup3 nr, "--", program, args.
// Messages on the channel as shim.ts documents them. Between the filter and the exec it
// makes no call the filter traps: sysread, syswrite, the dup3 that drops the listener, exec.
const SHIM = String.raw`
use strict; use Fcntl;
my ($ch, $hex, $nr_seccomp, $nr_prctl, $nr_dup3) = splice(@ARGV, 0, 5); shift @ARGV;
my @cmd = @ARGV;
open(my $c, '+<&=', $ch) or exit 126;
sub line { my $l = ''; for (;;) { my $n = sysread($c, my $b, 1); return undef unless $n; return $l if $b eq "\n"; $l .= $b; } }
sub say { syswrite($c, "$_[0]\n"); }
my $go = line();
kill 'KILL', $$ unless defined $go;
my $refusal;
if ($go ne 'go') { $refusal = substr($go, 3); }
else {
  my $avail = '';
  if (open(my $a, '<', '/proc/sys/kernel/seccomp/actions_avail')) { $avail = <$a>; close $a; }
  if ($avail !~ /\buser_notif\b/) { $refusal = 'this kernel has no seccomp user notification (user_notif is not in /proc/sys/kernel/seccomp/actions_avail): Linux 5.5 or later is needed'; }
  elsif (syscall($nr_prctl, 38, 1, 0, 0, 0) != 0) { $refusal = "prctl(PR_SET_NO_NEW_PRIVS) was refused ($!)"; }
  else {
    my $filter = pack('H*', $hex);
    my $prog = pack('S x![P] P', length($filter) / 8, $filter);
    my $l = syscall($nr_seccomp, 1, 8 | 32, $prog);
    $l = syscall($nr_seccomp, 1, 8, $prog) if $l < 0 && $!{EINVAL};
    if ($l < 0) {
      $refusal = $!{EBUSY} ? 'a seccomp listener is already set on this process tree (EBUSY: a container runtime or another supervisor uses user notification)'
        : $!{EINVAL} ? 'this kernel refuses SECCOMP_FILTER_FLAG_NEW_LISTENER (EINVAL): Linux 5.5 or later is needed'
        : "seccomp() was refused ($!: a seccomp filter already in place may forbid it)";
    } else {
      say("listener $l");
      my $r = line();
      kill 'KILL', $$ unless defined $r && $r eq 'ok';
      syscall($nr_dup3, $ch + 0, $l + 0, 0x80000);
    }
  }
}
say("refused $refusal") if defined $refusal;
fcntl($c, F_SETFD, FD_CLOEXEC);
exec { $cmd[0] } @cmd;
my $e = $! + 0;
say("exec-failed $e " . ($!{ENOENT} ? 'ENOENT' : $!{EACCES} ? 'EACCES' : "$!"));
exit($e == 2 ? 127 : 126);
`;

// argv: the listener's fd (standard input: the pipe from graceful). As shim.ts's keep().
const KEEPER = String.raw`
use strict; use IO::Poll qw(POLLIN POLLHUP);
my $fd = shift;
open(my $l, '+<&=', $fd) or exit 1;
my $in = \*STDIN;
while (sysread($in, my $b, 64)) {}
my $poll = IO::Poll->new; $poll->mask($l => POLLIN);
for (;;) {
  last if $poll->poll(-1) < 0 && !$!{EINTR};
  my $ev = $poll->events($l);
  if ($ev & POLLIN) {
    my $n = "\0" x 80;
    next unless ioctl($l, 0xc0502100, $n);
    my $resp = substr($n, 0, 8) . ("\0" x 12) . pack('L', 1);
    ioctl($l, 0xc0182101, $resp);
  } elsif ($ev & POLLHUP) { last; }
}
exit 0;
`;

// The perl command that runs the shim, or null where the audit does not know this
// architecture's numbers for it.
export function perlShim(perl: string, table: ArchTable, arch: string, filterHex: string, channel: number, command: readonly string[]): string[] | null {
  const nr = PERL_NR[arch];
  if (!nr) return null;
  return [perl, '-e', SHIM, String(channel), filterHex, String(table.nr.seccomp), String(nr.prctl), String(nr.dup3), '--', ...command];
}

export function perlKeeper(perl: string, listenerFd: number): string[] {
  return [perl, '-e', KEEPER, String(listenerFd)];
}
