/**
 * Bounded load generators, run with the host's node inside a bench container's network namespace
 * (nsenter -n), so the traffic crosses the bench's internal Docker bridge between two containers.
 * Every mode stops by itself: a count and a time limit. Prints one JSON result line.
 *
 *   tcp-server PORT_FIRST PORT_COUNT MAX_SECONDS          accept and close at once (server closes first,
 *                                                         so clients keep no TIME_WAIT)
 *   tcp-client DST PORT_FIRST PORT_COUNT RATE SECONDS     new connections at RATE/s for SECONDS
 *   udp-flood DST PORT RATE SECONDS SIZE                  datagrams at RATE/s from 8 sockets
 *   udp-sweep DST PORT_FIRST COUNT RATE                   one datagram to each of COUNT ports (new flows)
 *   attempts DST PORT_FIRST COUNT INTERVAL_MS             one connection per port, INTERVAL_MS apart
 */
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";

const MAX_INFLIGHT = 2000;
const HARD_LIMIT_S = 120;

function out(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function tcpServer(portFirst: number, count: number, maxSeconds: number): void {
  const servers: Server[] = [];
  let accepted = 0;
  let listening = 0;
  for (let p = portFirst; p < portFirst + count; p++) {
    const s = createServer((sock) => {
      accepted++;
      sock.on("error", () => {});
      sock.destroy();
    });
    s.listen({ port: p, host: "0.0.0.0", backlog: 4096 }, () => {
      if (++listening === count) out({ ready: true });
    });
    servers.push(s);
  }
  const stop = (): void => {
    for (const s of servers) s.close();
    out({ accepted });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  setTimeout(stop, Math.min(maxSeconds, 3600) * 1000).unref();
}

function tcpClient(dst: string, portFirst: number, portCount: number, rate: number, seconds: number): void {
  const total = Math.floor(rate * Math.min(seconds, HARD_LIMIT_S));
  let started = 0;
  let connected = 0;
  let errors = 0;
  let inflight = 0;
  let closed = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const open = (): void => {
    const port = portFirst + (started % portCount);
    started++;
    inflight++;
    const s = connect({ host: dst, port });
    s.setTimeout(3000, () => s.destroy());
    s.on("connect", () => {
      connected++;
    });
    s.on("error", () => {
      errors++;
    });
    s.on("close", () => {
      inflight--;
      closed++;
    });
    s.resume();
  };
  let sendEnd = 0;
  const tick = (): void => {
    const due = Math.min(total, Math.floor(elapsed() * rate));
    while (started < due && inflight < MAX_INFLIGHT) open();
    if (started < total && elapsed() < seconds + 2) {
      setTimeout(tick, 1);
      return;
    }
    sendEnd = elapsed();
    const finish = (): void => {
      if (inflight > 0 && elapsed() < sendEnd + 5) {
        setTimeout(finish, 20);
        return;
      }
      out({ started, connected, errors, closed, seconds: sendEnd, rate: started / sendEnd });
      process.exit(0);
    };
    finish();
  };
  tick();
}

function udpFlood(dst: string, port: number, rate: number, seconds: number, size: number): void {
  const total = Math.floor(rate * Math.min(seconds, HARD_LIMIT_S));
  // Connected sockets: no per-datagram address handling (about 25% faster here). The server's
  // network namespace drops the port in its INPUT chain, so no ICMP error comes back.
  const sockets = Array.from({ length: 8 }, () => createSocket("udp4"));
  const payload = Buffer.alloc(size, 0x61);
  let sent = 0;
  let pending = 0;
  let errors = 0;
  let t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const done = (err: Error | null): void => {
    pending--;
    if (err) errors++;
  };
  const tick = (): void => {
    const due = Math.min(total, Math.floor(elapsed() * rate));
    // Bounded in-flight sends: libuv queues what the socket cannot take at once.
    while (sent < due && pending < 1024) {
      pending++;
      sockets[sent & 7]!.send(payload, done);
      sent++;
    }
    if (sent < total && elapsed() < seconds + 2) {
      setImmediate(tick);
      return;
    }
    const secs = elapsed();
    const finish = (): void => {
      if (pending > 0 && elapsed() < secs + 3) {
        setTimeout(finish, 10);
        return;
      }
      for (const s of sockets) s.close();
      out({ sent, errors, seconds: secs, rate: sent / secs });
      process.exit(0);
    };
    finish();
  };
  let connected = 0;
  for (const s of sockets)
    s.connect(port, dst, () => {
      if (++connected === sockets.length) {
        t0 = process.hrtime.bigint();
        tick();
      }
    });
}

/** One datagram to each of COUNT ports (from one socket): COUNT new UDP flows for the tracker. */
function udpSweep(dst: string, portFirst: number, count: number, rate: number): void {
  const total = Math.min(count, 65_535 - portFirst);
  const sock = createSocket("udp4");
  const payload = Buffer.alloc(32, 0x62);
  let sent = 0;
  let pending = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  const tick = (): void => {
    const due = Math.min(total, Math.floor(elapsed() * rate));
    while (sent < due && pending < 512) {
      pending++;
      sock.send(payload, portFirst + sent, dst, () => {
        pending--;
      });
      sent++;
    }
    if (sent < total && elapsed() < HARD_LIMIT_S) {
      setImmediate(tick);
      return;
    }
    const finish = (): void => {
      if (pending > 0) {
        setTimeout(finish, 10);
        return;
      }
      sock.close();
      out({ sent, seconds: elapsed() });
      process.exit(0);
    };
    finish();
  };
  // One datagram first, so the neighbour (ARP) entry exists: until it does, the kernel queues only
  // about 100 packets per neighbour and drops the rest.
  sock.bind(0, () => {
    sock.send(payload, portFirst, dst, () => setTimeout(tick, 300));
  });
}

function attempts(dst: string, portFirst: number, count: number, intervalMs: number): void {
  let i = 0;
  const times: { port: number; at: number }[] = [];
  const next = (): void => {
    if (i >= Math.min(count, 1000)) {
      setTimeout(() => {
        out({ attempts: times });
        process.exit(0);
      }, 300);
      return;
    }
    const port = portFirst + i++;
    times.push({ port, at: Date.now() });
    const s = connect({ host: dst, port });
    s.setTimeout(2000, () => s.destroy());
    s.on("error", () => {});
    s.resume();
    setTimeout(next, intervalMs);
  };
  next();
}

const [mode, ...a] = process.argv.slice(2);
const n = (i: number): number => Number(a[i]);
// Whatever happens, a client stops: the server has its own limit (MAX_SECONDS).
if (mode !== "tcp-server") setTimeout(() => process.exit(3), (HARD_LIMIT_S + 30) * 1000).unref();
switch (mode) {
  case "tcp-server":
    tcpServer(n(0), n(1), n(2));
    break;
  case "tcp-client":
    tcpClient(a[0]!, n(1), n(2), n(3), n(4));
    break;
  case "udp-flood":
    udpFlood(a[0]!, n(1), n(2), n(3), n(4));
    break;
  case "udp-sweep":
    udpSweep(a[0]!, n(1), n(2), n(3));
    break;
  case "attempts":
    attempts(a[0]!, n(1), n(2), n(3));
    break;
  default:
    process.stderr.write("usage: loadgen.js tcp-server|tcp-client|udp-flood|attempts ...\n");
    process.exit(2);
}
