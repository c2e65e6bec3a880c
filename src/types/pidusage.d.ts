// The part of pidusage (v4) graceful uses; the package ships no types.
declare module 'pidusage' {
  interface Stat {
    /** Percentage of CPU since the previous call. */
    cpu: number;
    /** Resident set size, bytes. */
    memory: number;
    /** CPU time used, user + system, ms. */
    ctime: number;
    elapsed: number;
    pid: number;
    ppid: number;
    timestamp: number;
  }
  function pidusage(pid: number): Promise<Stat>;
  namespace pidusage {
    function clear(): void;
  }
  export default pidusage;
}
