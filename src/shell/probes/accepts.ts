// The connections graceful's own TCP listeners (the health endpoint, --health-port) have
// accepted: --stop-delay auto counts every connection accepted in a network namespace that is
// the program's alone, less these (probes/traffic.ts).
export const ownAccepts = { count: 0 };
