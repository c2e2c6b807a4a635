import { describe, expect, it } from "vitest";
import {
  bridgeInterfaceOf,
  type NetworkInspect,
  networkInspectSchema,
  type ParseResult,
  parseContainerInspect,
} from "../../src/inventory/parse-inspect.js";
import type { ContainerInfo } from "../../src/inventory/types.js";

const ID = "3f4e8b1c2d9a7e6f5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
const IMAGE_ID = "sha256:7a3f5c1e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a";
const APP_NET_ID = "9c1b2a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const DEFAULT_NET_ID = "e2b1c0d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1";
const MACVLAN_NET_ID = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

function endpoint(o: {
  networkId: string;
  ip: string;
  ipv6?: string;
  mac: string;
  gateway: string;
}): Record<string, unknown> {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: ["web", "3f4e8b1c2d9a"],
    NetworkID: o.networkId,
    EndpointID: "0d4b2c6e8f1a3b5d7c9e0f2a4b6c8d0e1f3a5b7c9d1e3f5a7b9c0d2e4f6a8b0c",
    Gateway: o.gateway,
    IPAddress: o.ip,
    IPPrefixLen: 16,
    IPv6Gateway: "",
    GlobalIPv6Address: o.ipv6 ?? "",
    GlobalIPv6PrefixLen: 0,
    MacAddress: o.mac,
    DriverOpts: null,
  };
}

/** `docker inspect web` (Docker 20.10), trimmed of the sections netmon never reads. */
function inspectWeb(): Record<string, unknown> {
  return {
    Id: ID,
    Created: "2024-03-01T10:00:00.123456789Z",
    Path: "/docker-entrypoint.sh",
    Args: ["nginx", "-g", "daemon off;"],
    State: {
      Status: "running",
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 23817,
      ExitCode: 0,
      Error: "",
      StartedAt: "2024-03-01T10:00:01.531248977Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    },
    Image: IMAGE_ID,
    ResolvConfPath: `/var/lib/docker/containers/${ID}/resolv.conf`,
    HostnamePath: `/var/lib/docker/containers/${ID}/hostname`,
    Name: "/web",
    RestartCount: 0,
    Driver: "overlay2",
    Platform: "linux",
    HostConfig: {
      NetworkMode: "shop_default",
      PortBindings: { "80/tcp": [{ HostIp: "", HostPort: "8080" }] },
    },
    Config: {
      Hostname: "3f4e8b1c2d9a",
      Domainname: "",
      User: "",
      ExposedPorts: { "80/tcp": {}, "443/tcp": {} },
      Tty: false,
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NGINX_VERSION=1.25.3"],
      Cmd: ["nginx", "-g", "daemon off;"],
      Image: "nginx:1.25",
      Volumes: null,
      WorkingDir: "",
      Entrypoint: ["/docker-entrypoint.sh"],
      OnBuild: null,
      Labels: {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        maintainer: "NGINX Docker Maintainers <docker-maint@nginx.com>",
      },
      StopSignal: "SIGQUIT",
    },
    NetworkSettings: {
      Bridge: "",
      SandboxID: "b7d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1",
      HairpinMode: false,
      LinkLocalIPv6Address: "",
      LinkLocalIPv6PrefixLen: 0,
      Ports: {
        "80/tcp": [
          { HostIp: "0.0.0.0", HostPort: "8080" },
          { HostIp: "::", HostPort: "8080" },
        ],
        "443/tcp": null,
      },
      SandboxKey: "/var/run/docker/netns/b7d1c2e3f4a5",
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: "",
      Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      IPAddress: "",
      IPPrefixLen: 0,
      IPv6Gateway: "",
      MacAddress: "",
      Networks: {
        shop_default: endpoint({
          networkId: APP_NET_ID,
          ip: "172.18.0.2",
          ipv6: "FD00:DEAD:BEEF:0:0:0:0:2",
          mac: "02:42:ac:12:00:02",
          gateway: "172.18.0.1",
        }),
      },
    },
  };
}

function ok(result: ParseResult<ContainerInfo>): { value: ContainerInfo; warnings: string[] } {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result;
}

function err(result: ParseResult<ContainerInfo>): string {
  if (result.ok) throw new Error("expected a rejection");
  return result.error;
}

/** Mutates a deep path of a fresh inspect object (test helper). */
function withPath(path: string[], value: unknown): Record<string, unknown> {
  const root = inspectWeb();
  let obj = root;
  for (const key of path.slice(0, -1)) obj = obj[key] as Record<string, unknown>;
  obj[path[path.length - 1]!] = value;
  return root;
}

describe("parseContainerInspect", () => {
  it("reads every field of a running Compose container", () => {
    const r = ok(parseContainerInspect(inspectWeb(), new Map([[APP_NET_ID, "br-shop"]])));
    expect(r.warnings).toEqual([]);
    expect(r.value).toEqual({
      ref: { id: ID, name: "web", image: "nginx:1.25", service: "web", project: "shop" },
      imageId: IMAGE_ID,
      labels: {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "1",
        "com.docker.compose.oneoff": "False",
        maintainer: "NGINX Docker Maintainers <docker-maint@nginx.com>",
      },
      networks: [
        {
          networkName: "shop_default",
          networkId: APP_NET_ID,
          ipv4: "172.18.0.2",
          ipv6: "fd00:dead:beef::2",
          mac: "02:42:ac:12:00:02",
          gateway: "172.18.0.1",
          bridge: "br-shop",
        },
      ],
      pid: 23817,
      exposedPorts: ["80/tcp", "443/tcp"],
      publishedPorts: [
        { containerPort: 80, proto: "tcp", hostIp: "0.0.0.0", hostPort: 8080 },
        { containerPort: 80, proto: "tcp", hostIp: "::", hostPort: 8080 },
      ],
      startedAt: Date.UTC(2024, 2, 1, 10, 0, 1, 531),
      finishedAt: null,
      running: true,
      imageLabels: null,
      networkMode: "shop_default",
    } satisfies ContainerInfo);
  });

  it("a container outside Compose has null service and project", () => {
    const raw = withPath(["Config", "Labels"], { maintainer: "someone" });
    const r = ok(parseContainerInspect(raw, new Map()));
    expect(r.value.ref.service).toBeNull();
    expect(r.value.ref.project).toBeNull();
    expect(r.value.labels).toEqual({ maintainer: "someone" });
  });

  it("accepts null labels, ports and networks (a created, never started container)", () => {
    const raw = inspectWeb();
    raw.Config = { Image: "busybox", Labels: null, ExposedPorts: null };
    raw.NetworkSettings = { Networks: null, Ports: null };
    raw.State = {
      Running: false,
      Pid: 0,
      StartedAt: "0001-01-01T00:00:00Z",
      FinishedAt: "0001-01-01T00:00:00Z",
    };
    const r = ok(parseContainerInspect(raw, new Map()));
    expect(r.value).toMatchObject({
      labels: {},
      networks: [],
      exposedPorts: [],
      publishedPorts: [],
      pid: 0,
      startedAt: 0,
      finishedAt: null,
      running: false,
    });
  });

  it("falls back to the short id when the name is empty, and to the image id when Config.Image is missing", () => {
    const raw = inspectWeb();
    raw.Name = "";
    raw.Config = { Labels: {} };
    const r = ok(parseContainerInspect(raw, new Map()));
    expect(r.value.ref.name).toBe("3f4e8b1c2d9a");
    expect(r.value.ref.image).toBe(IMAGE_ID);
  });

  it("finds each network's bridge: from the map, docker0 for 'bridge', else br-<12 hex>", () => {
    const raw = withPath(["NetworkSettings", "Networks"], {
      bridge: endpoint({
        networkId: DEFAULT_NET_ID,
        ip: "172.17.0.3",
        mac: "02:42:ac:11:00:03",
        gateway: "172.17.0.1",
      }),
      shop_default: endpoint({
        networkId: APP_NET_ID,
        ip: "172.18.0.2",
        mac: "02:42:ac:12:00:02",
        gateway: "172.18.0.1",
      }),
      lan: endpoint({
        networkId: MACVLAN_NET_ID,
        ip: "192.168.1.50",
        mac: "02:42:c0:a8:01:32",
        gateway: "192.168.1.1",
      }),
      named: endpoint({ networkId: "not-hex!", ip: "10.9.0.2", mac: "02:42:0a:09:00:02", gateway: "" }),
      mapped: endpoint({ networkId: "not-hex!", ip: "10.10.0.2", mac: "02:42:0a:0a:00:02", gateway: "" }),
    });
    // Only the macvlan network is in the map (as a non-bridge network: null).
    const r = ok(parseContainerInspect(raw, new Map([[MACVLAN_NET_ID, null]])));
    expect(r.value.networks.map((n) => [n.networkName, n.bridge])).toEqual([
      ["bridge", "docker0"],
      ["shop_default", `br-${APP_NET_ID.slice(0, 12)}`],
      ["lan", null],
      ["named", null],
      ["mapped", null],
    ]);
    expect(r.value.networks[3]?.gateway).toBeNull();
    const mapped = ok(parseContainerInspect(raw, new Map([["not-hex!", "custombr0"]])));
    expect(mapped.value.networks.map((n) => n.bridge)).toEqual([
      "docker0",
      `br-${APP_NET_ID.slice(0, 12)}`,
      `br-${MACVLAN_NET_ID.slice(0, 12)}`,
      "custombr0",
      "custombr0",
    ]);
  });

  it("reads a stopped container: pid 0, not running, finishedAt set", () => {
    const raw = withPath(["State"], {
      Status: "exited",
      Running: false,
      Paused: false,
      Pid: 0,
      ExitCode: 137,
      StartedAt: "2024-03-01T10:00:01.531248977Z",
      FinishedAt: "2024-03-01T12:30:00.000000001Z",
    });
    const r = ok(parseContainerInspect(raw, new Map()));
    expect(r.value.running).toBe(false);
    expect(r.value.pid).toBe(0);
    expect(r.value.startedAt).toBe(Date.UTC(2024, 2, 1, 10, 0, 1, 531));
    expect(r.value.finishedAt).toBe(Date.UTC(2024, 2, 1, 12, 30, 0, 0));
  });

  it("a pid reported for a container that is not running is ignored", () => {
    const raw = withPath(["State"], { Running: false, Pid: 999, FinishedAt: "2024-03-01T12:30:00Z" });
    expect(ok(parseContainerInspect(raw, new Map())).value.pid).toBe(0);
  });

  describe("hostile input", () => {
    it.each([
      ["an uppercase id", "3F4E8B1C2D9A"],
      ["a non-hex id", "../../etc/passwd"],
      ["a short id", "abc123"],
      ["a number", 42],
    ])("rejects %s, naming Id", (_label, id) => {
      const message = err(parseContainerInspect(withPath(["Id"], id), new Map()));
      expect(message).toMatch(/^Id: /);
    });

    it("rejects a missing Id", () => {
      const raw = inspectWeb();
      delete raw.Id;
      expect(err(parseContainerInspect(raw, new Map()))).toMatch(/^Id: /);
    });

    it.each([null, "container", 42, []])("rejects a non-object (%j)", (raw) => {
      expect(err(parseContainerInspect(raw, new Map()))).toMatch(/expected object/);
    });

    it("rejects labels that are not strings, naming the label", () => {
      const raw = withPath(["Config", "Labels"], { good: "yes", port: 8080 });
      expect(err(parseContainerInspect(raw, new Map()))).toMatch(/^Config\.Labels\.port: /);
    });

    it("rejects a negative or fractional pid", () => {
      expect(err(parseContainerInspect(withPath(["State", "Pid"], -1), new Map()))).toMatch(/^State\.Pid: /);
      expect(err(parseContainerInspect(withPath(["State", "Pid"], 1.5), new Map()))).toMatch(/^State\.Pid: /);
    });

    it("caps 1000 labels at 512 with one warning", () => {
      const labels: Record<string, string> = {};
      for (let i = 0; i < 1000; i++) labels[`label.${i}`] = `v${i}`;
      const r = ok(parseContainerInspect(withPath(["Config", "Labels"], labels), new Map()));
      const kept = Object.keys(r.value.labels);
      expect(kept).toHaveLength(512);
      expect(kept[0]).toBe("label.0");
      expect(kept[511]).toBe("label.511");
      expect(r.warnings).toEqual(["more than 512 labels: the rest are ignored"]);
    });

    it("drops a 10 kB label value and an over-long key with a warning, keeping the others", () => {
      const raw = withPath(["Config", "Labels"], {
        "com.docker.compose.service": "web",
        huge: "x".repeat(10_000),
        ["k".repeat(300)]: "v",
        small: "ok",
      });
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.labels).toEqual({ "com.docker.compose.service": "web", small: "ok" });
      expect(r.warnings).toEqual([
        'label "huge" is too long and is ignored',
        `label ${JSON.stringify("k".repeat(64))} is too long and is ignored`,
      ]);
      expect(r.value.ref.service).toBe("web");
    });

    it("a too-long Compose label cannot set the service", () => {
      const raw = withPath(["Config", "Labels"], { "com.docker.compose.service": "s".repeat(5000) });
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.ref.service).toBeNull();
      expect(r.warnings).toHaveLength(1);
    });

    it("an invalid IPv4 address gives a warning and null", () => {
      const raw = withPath(["NetworkSettings", "Networks", "shop_default", "IPAddress"], "999.1.2.3");
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.networks[0]?.ipv4).toBeNull();
      expect(r.value.networks[0]?.ipv6).toBe("fd00:dead:beef::2");
      expect(r.warnings).toEqual(['network shop_default: invalid IPAddress "999.1.2.3"']);
    });

    it("an invalid IPv6 address gives a warning and null", () => {
      const raw = withPath(["NetworkSettings", "Networks", "shop_default", "GlobalIPv6Address"], "fd00::zz");
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.networks[0]?.ipv6).toBeNull();
      expect(r.value.networks[0]?.ipv4).toBe("172.18.0.2");
      expect(r.warnings).toEqual(['network shop_default: invalid GlobalIPv6Address "fd00::zz"']);
    });

    it("an invalid gateway is null; an empty MAC is null", () => {
      const raw = inspectWeb();
      const ep = (raw.NetworkSettings as { Networks: Record<string, Record<string, unknown>> }).Networks
        .shop_default!;
      ep.Gateway = "gateway.local";
      ep.MacAddress = "";
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.networks[0]?.gateway).toBeNull();
      expect(r.value.networks[0]?.mac).toBeNull();
    });

    it("rejects an over-long address string instead of reading it", () => {
      const raw = withPath(["NetworkSettings", "Networks", "shop_default", "IPAddress"], "1".repeat(65));
      expect(err(parseContainerInspect(raw, new Map()))).toMatch(
        /^NetworkSettings\.Networks\.shop_default\.IPAddress: /,
      );
    });

    it("ignores weird port specs and bindings", () => {
      const raw = withPath(["NetworkSettings", "Ports"], {
        "53/udp": [{ HostIp: "127.0.0.1", HostPort: "5353" }],
        "80/tcp": [
          { HostIp: "0.0.0.0", HostPort: "" },
          { HostIp: "0.0.0.0", HostPort: "http" },
          { HostIp: "0.0.0.0", HostPort: "70000" },
          { HostIp: "0.0.0.0", HostPort: "0" },
          { HostPort: "8081" },
        ],
        "abc/tcp": [{ HostIp: "0.0.0.0", HostPort: "9000" }],
        "80/icmp": [{ HostIp: "0.0.0.0", HostPort: "9001" }],
        "81": [{ HostIp: "0.0.0.0", HostPort: "9002" }],
        "70000/tcp": [{ HostIp: "0.0.0.0", HostPort: "9003" }],
        "0/tcp": [{ HostIp: "0.0.0.0", HostPort: "9004" }],
        "-1/tcp": [{ HostIp: "0.0.0.0", HostPort: "9005" }],
        "82/tcp/x": [{ HostIp: "0.0.0.0", HostPort: "9006" }],
        "132/sctp": [{ HostIp: "0.0.0.0", HostPort: "9132" }],
        "443/tcp": null,
      });
      raw.Config = {
        Image: "nginx:1.25",
        ExposedPorts: {
          "80/tcp": {},
          "53/udp": {},
          "8080": {},
          "abc/tcp": {},
          "70000/tcp": {},
          "80/icmp": {},
        },
      };
      const r = ok(parseContainerInspect(raw, new Map()));
      expect(r.value.publishedPorts).toEqual([
        { containerPort: 53, proto: "udp", hostIp: "127.0.0.1", hostPort: 5353 },
        { containerPort: 80, proto: "tcp", hostIp: "", hostPort: 8081 },
        { containerPort: 132, proto: "sctp", hostIp: "0.0.0.0", hostPort: 9132 },
      ]);
      // (Integer-like keys come first in a JS object.)
      expect(r.value.exposedPorts).toEqual(["8080", "80/tcp", "53/udp"]);
    });
  });
});

describe("bridgeInterfaceOf", () => {
  const network = (o: Record<string, unknown>): NetworkInspect =>
    networkInspectSchema.parse({ Id: APP_NET_ID, Name: "shop_default", Driver: "bridge", ...o });

  it("uses the com.docker.network.bridge.name option when it is a valid interface name", () => {
    expect(bridgeInterfaceOf(network({ Options: { "com.docker.network.bridge.name": "shopbr0" } }))).toBe(
      "shopbr0",
    );
    expect(
      bridgeInterfaceOf(
        network({ Name: "bridge", Options: { "com.docker.network.bridge.name": "docker0" } }),
      ),
    ).toBe("docker0");
  });

  it.each([
    ["too long", "averyverylongbridgename"],
    ["with a space", "br shop"],
    ["with a slash", "br/../x"],
    ["empty", ""],
  ])("ignores a bridge.name option %s", (_label, value) => {
    expect(bridgeInterfaceOf(network({ Options: { "com.docker.network.bridge.name": value } }))).toBe(
      `br-${APP_NET_ID.slice(0, 12)}`,
    );
  });

  it("gives docker0 for the default 'bridge' network and br-<12 hex> for others", () => {
    expect(bridgeInterfaceOf(network({ Name: "bridge", Id: DEFAULT_NET_ID }))).toBe("docker0");
    expect(bridgeInterfaceOf(network({}))).toBe("br-9c1b2a3d4e5f");
  });

  it("treats a missing driver as bridge", () => {
    expect(bridgeInterfaceOf(network({ Driver: null }))).toBe("br-9c1b2a3d4e5f");
  });

  it.each(["macvlan", "overlay", "host", "null", "ipvlan"])("gives null for the %s driver", (driver) => {
    expect(
      bridgeInterfaceOf(network({ Driver: driver, Options: { "com.docker.network.bridge.name": "x0" } })),
    ).toBeNull();
  });

  it("the network schema rejects a non-hex id", () => {
    expect(networkInspectSchema.safeParse({ Id: "zzzz", Name: "x" }).success).toBe(false);
  });

  // A host-network container's /proc/<pid>/net is the host's: the daemon must know not to scan it.
  it("reads HostConfig.NetworkMode (host-network containers are not scanned for listeners)", () => {
    const raw = withPath(["HostConfig", "NetworkMode"], "host");
    expect(ok(parseContainerInspect(raw, new Map())).value.networkMode).toBe("host");
  });
});
