// The kernel's numbers for socket families and TCP states, as sock_diag and getsockopt give
// them (include/linux/socket.h, include/net/tcp_states.h): declared once for every reader of
// the kernel's socket tables (the held sockets, --stop-delay auto's watch, check's audit and
// its served-before-ready sampling).
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

export const TCP_ESTABLISHED = 1;
export const TCP_TIME_WAIT = 6;
export const TCP_LISTEN = 10;
