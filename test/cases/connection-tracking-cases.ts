/**
 * Golden cases of connection tracking (issue 15): connections whose start the capture missed, the
 * real end of a connection, IP fragments, late answers, reused tuples, UDP replies seen first.
 * Listed in make-cases.ts CASES. Every case runs on the shipped defaults with web labelled (judged
 * from its first packet, no learning), so the only alerts are the ones the tracking makes right.
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../../src/capture/packet.js";
import { buildDns } from "../support/dns-builder.js";
import { Scenario, type ScenarioOutput, type TcpStep } from "../support/scenario.js";

export interface TrackingCase {
  name: string;
  description: string;
  build: () => ScenarioOutput;
}

const SEC = 1_000;
const WEB = "shop-web-1";
const DB = "shop-db-1";
const GATEWAY = "172.30.0.1";
/** Nothing allows it: any connection of web's to it alerts. */
const UNDECLARED = "198.51.100.23";

function app(): Scenario {
  return new Scenario({ network: "shop_default", gateway: GATEWAY })
    .container({
      name: WEB,
      ip: "172.30.0.2",
      project: "shop",
      service: "web",
      image: "shop/web:1.4",
      labels: { "netmon.egress": "db:5432/tcp,db:443/udp" },
    })
    .container({
      name: DB,
      ip: "172.30.0.3",
      project: "shop",
      service: "db",
      image: "postgres:16",
      exposed: ["5432/tcp"],
    });
}

const SYN_ACK = TCP_SYN | TCP_ACK;
const FIN_ACK = TCP_FIN | TCP_ACK;
const RST_ACK = TCP_RST | TCP_ACK;
const DATA = TCP_PSH | TCP_ACK;

/**
 * Connections open before the capture started, first seen by `first`: one to db (allowed, silent)
 * and one to an undeclared server (alerted, as a new connection would be), plus web's normal calls.
 */
function midstream(first: "syn-ack" | "fin" | "rst"): () => ScenarioOutput {
  const opening: Record<typeof first, TcpStep[]> = {
    // The server's SYN-ACK is the first packet: the SYN went out before the capture.
    "syn-ack": [
      { at: 0, from: "dst", flags: SYN_ACK, seq: 5000 },
      { at: 1, from: "src", flags: TCP_ACK },
      { at: 2, from: "src", flags: DATA },
      { at: 4_000, from: "src", flags: FIN_ACK },
      { at: 4_001, from: "dst", flags: FIN_ACK },
    ],
    // A long-lived connection the capture joins at its end: the server closes first.
    fin: [
      { at: 0, from: "dst", flags: FIN_ACK, seq: 9000 },
      { at: 1, from: "src", flags: FIN_ACK, seq: 3000 },
    ],
    // Reset by the server: one packet is all the capture sees of it.
    rst: [{ at: 0, from: "dst", flags: RST_ACK, seq: 9000 }],
  };
  return () => {
    const s = app();
    s.tcp(500, WEB, DB, 5432, "closed", 40);
    s.tcpPackets(1 * SEC, WEB, DB, 5432, opening[first]);
    s.tcpPackets(2 * SEC, WEB, UNDECLARED, 4444, opening[first]);
    s.tcp(6 * SEC, WEB, DB, 5432, "closed", 40);
    return s.build();
  };
}

/** web's database calls where the server closes first and web keeps sending for 25 s. */
function halfCloseTail(): ScenarioOutput {
  const s = app();
  for (let i = 0; i < 3; i++) {
    s.tcpPackets(i * 30 * SEC, WEB, DB, 5432, [
      { at: 0, from: "src", flags: TCP_SYN, seq: 1000 + i },
      { at: 1, from: "dst", flags: SYN_ACK },
      { at: 2, from: "src", flags: DATA },
      { at: 50, from: "dst", flags: FIN_ACK },
      { at: 5_000, from: "src", flags: DATA },
      { at: 25_050, from: "src", flags: FIN_ACK },
    ]);
  }
  return s.build();
}

/**
 * Large UDP and TCP answers in IP fragments (only the first carries the ports), and a fragmented
 * datagram of web's own. The UDP answer is a QUIC one: a fragmented DNS answer would be counted as
 * an unreadable DNS message (fragments are not reassembled), which the golden test forbids.
 */
function fragments(): ScenarioOutput {
  const s = app();
  // web's request to db's UDP service on 443 (allowed below), answered with 1,400 bytes in fragments of 512.
  s.udp(1 * SEC, WEB, DB, 443, { answered: false, payload: Buffer.alloc(40, 1) });
  s.fragmented(
    1 * SEC + 2,
    DB,
    WEB,
    { proto: "udp", srcPort: 443, dstPort: 40000, payload: Buffer.alloc(1_400, 2) },
    512,
  );
  // db's reply to web's query as a fragmented TCP segment.
  s.tcp(2 * SEC, WEB, DB, 5432, "open");
  s.fragmented(
    2 * SEC + 5,
    DB,
    WEB,
    { proto: "tcp", srcPort: 5432, dstPort: 40001, payload: Buffer.alloc(3_000, 3), flags: DATA },
    1_480,
  );
  // web's own large datagram to db's allowed UDP port, fragmented: its later fragments are no flow to "db:0".
  s.fragmented(
    3 * SEC,
    WEB,
    DB,
    { proto: "udp", srcPort: 40002, dstPort: 443, payload: Buffer.alloc(2_000, 4) },
    1_480,
  );
  return s.build();
}

/** Late answers to web's SYNs, after netmon reported them unanswered (the 5 s default). */
function lateAnswers(): ScenarioOutput {
  const s = app();
  // db refuses 6 s late (a saturated backlog), then accepts 7 s late: allowed, silent.
  s.tcpPackets(1 * SEC, WEB, DB, 5432, [
    { at: 0, from: "src", flags: TCP_SYN },
    { at: 1_000, from: "src", flags: TCP_SYN },
    { at: 6_000, from: "dst", flags: RST_ACK },
  ]);
  s.tcpPackets(20 * SEC, WEB, DB, 5432, [
    { at: 0, from: "src", flags: TCP_SYN },
    { at: 3_000, from: "src", flags: TCP_SYN },
    { at: 7_000, from: "dst", flags: SYN_ACK },
    { at: 7_001, from: "src", flags: TCP_ACK },
    { at: 9_000, from: "src", flags: FIN_ACK },
    { at: 9_001, from: "dst", flags: FIN_ACK },
  ]);
  // The undeclared server refuses late: one alert for the attempt, nothing for the correction.
  s.tcpPackets(40 * SEC, WEB, UNDECLARED, 4444, [
    { at: 0, from: "src", flags: TCP_SYN },
    { at: 6_000, from: "dst", flags: RST_ACK },
  ]);
  return s.build();
}

/** web reuses one source port for three connections in a row (new ISN each time). */
function portReuse(): ScenarioOutput {
  const s = app();
  const port = 45_000;
  for (let i = 0; i < 3; i++) {
    s.tcpPackets(
      i * 10 * SEC,
      WEB,
      DB,
      5432,
      [
        { at: 0, from: "src", flags: TCP_SYN, seq: 1_000_000 * (i + 1) },
        { at: 1, from: "dst", flags: SYN_ACK },
        // Only web's FIN is captured: the flow is still closing when the next SYN comes.
        { at: 200, from: "src", flags: FIN_ACK },
      ],
      { srcPort: port },
    );
  }
  // The same port then reaches the undeclared server: judged as the new connection it is.
  s.tcpPackets(
    35 * SEC,
    WEB,
    UNDECLARED,
    4444,
    [
      { at: 0, from: "src", flags: TCP_SYN, seq: 77 },
      { at: 1, from: "dst", flags: SYN_ACK },
    ],
    { srcPort: port },
  );
  return s.build();
}

/** Replies the capture sees before (or without) their request: the initiator is web, not the server. */
function udpReplyFirst(): ScenarioOutput {
  const s = app();
  // The resolver's answer to a query sent just before the capture started.
  const answer = buildDns({
    id: 7,
    response: true,
    questions: [{ name: "db.example.internal", type: 1 }],
    answers: [{ name: "db.example.internal", type: "A", ip: "172.30.0.3", ttl: 60 }],
  });
  s.udp(1 * SEC, GATEWAY, WEB, 45_000, { answered: false, payload: answer, srcPort: 53 });
  // An NTP answer from an undeclared server to a query the capture missed: web talked to it.
  s.udp(2 * SEC, UNDECLARED, WEB, 45_001, { answered: false, payload: Buffer.alloc(48, 6), srcPort: 123 });
  return s.build();
}

export const TRACKING_CASES: readonly TrackingCase[] = [
  {
    name: "midstream-syn-ack-first",
    description:
      "connections open before the capture, first seen by their SYN-ACK: web → db is allowed, web → " +
      ".23:4444 alerts as a new connection would",
    build: midstream("syn-ack"),
  },
  {
    name: "midstream-fin-first",
    description:
      "connections first seen by the server's FIN: the initiator is web (ephemeral port); web → .23:4444 alerts, db is allowed",
    build: midstream("fin"),
  },
  {
    name: "midstream-rst-first",
    description:
      "connections first seen by the server's RST: the initiator is web; web → .23:4444 alerts, and the reset is no failed connection",
    build: midstream("rst"),
  },
  {
    name: "half-close-long-tail",
    description:
      "db closes first and web keeps sending for 25 s, three times: connections of 25 s, closed by the responder, no alert",
    build: halfCloseTail,
  },
  {
    name: "fragmented-udp-tcp",
    description:
      "a fragmented UDP answer, a fragmented TCP segment and a fragmented datagram of web's to db: no phantom db:0 destination, no alert",
    build: fragments,
  },
  {
    name: "late-answers",
    description:
      "RST and SYN-ACK after the unanswered timeout: corrected (rejected, accepted) and counted once; " +
      "the late refusal from .23:4444 is one alert for its attempt",
    build: lateAnswers,
  },
  {
    name: "port-reuse-new-isn",
    description:
      "web reuses one source port for three db connections (each only half-closed) and then for .23:4444: " +
      "every SYN with a new ISN is a new connection, and the last one alerts",
    build: portReuse,
  },
  {
    name: "udp-reply-first",
    description:
      "UDP replies seen before their requests (DNS from the gateway, NTP from .23): web is the initiator, " +
      "so .23:123 is web's undeclared destination (an alert), not an inbound probe of web",
    build: udpReplyFirst,
  },
];
