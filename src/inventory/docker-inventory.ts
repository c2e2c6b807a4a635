import { EventEmitter } from "node:events";
import type { Logger } from "../util/logger.js";
import { mapLimit } from "../util/map-limit.js";
import type { DockerApi } from "./docker-api.js";
import { type DockerEvent, parseDockerEvent } from "./docker-event.js";
import { EventLineSplitter } from "./event-lines.js";
import type { Inventory } from "./inventory.js";
import {
  bridgeInterfaceOf,
  CONTAINER_ID,
  containerIdOf,
  imageLabelsOf,
  networkInspectSchema,
  parseContainerInspect,
} from "./parse-inspect.js";
import type { ContainerInfo } from "./types.js";

/** Inspections in flight during a full sync: dockerd answers them in parallel. */
const RESYNC_CONCURRENCY = 8;

export interface DockerInventoryOptions {
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

interface DockerInventoryEvents {
  /** The set of containers or their networks changed. */
  changed: [];
  /** Docker became reachable (true) or unreachable (false). */
  status: [connected: boolean];
  /** One Docker event was handled (for metrics). */
  dockerEvent: [type: string];
}

/**
 * Keeps an Inventory in step with dockerd: a full sync, then the events stream. When the socket
 * breaks or dockerd restarts, it reconnects with exponential back-off and resyncs fully; the rest of
 * the daemon keeps running on the last known inventory meanwhile.
 */
export class DockerInventory extends EventEmitter<DockerInventoryEvents> {
  connected = false;
  private stopped = false;
  private stream: NodeJS.ReadableStream | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private bridges = new Map<string, string | null>();
  /** Image id → the image's own labels (images are immutable, so this never goes stale). */
  private readonly imageLabels = new Map<string, Record<string, string> | null>();

  constructor(
    readonly inventory: Inventory,
    private readonly docker: DockerApi,
    private readonly log: Logger,
    private readonly opts: DockerInventoryOptions,
  ) {
    super();
  }

  /** First connection: throws when Docker cannot be reached, so start-up fails with a clear error. */
  async start(): Promise<void> {
    await this.connectOnce();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.detach();
  }

  /** Resolves once all Docker events received so far have been applied. */
  settled(): Promise<void> {
    return this.queue;
  }

  private async connectOnce(): Promise<void> {
    await this.docker.ping();
    // Subscribe before listing, so nothing that happens during the sync is missed.
    const stream = await this.docker.getEvents({ filters: { type: ["container", "network"] } });
    this.attach(stream);
    await this.enqueue(() => this.resync(Date.now()));
    this.setConnected(true);
  }

  private reconnect(attempt: number): void {
    if (this.stopped || this.retryTimer) return;
    const delay = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectMinMs * 2 ** Math.min(attempt, 20));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connectOnce().then(
        () => this.log.info({ attempts: attempt + 1 }, "reconnected to Docker; inventory resynced"),
        (err: unknown) => {
          this.detach();
          this.log.debug({ err: String(err), attempt }, "Docker still unreachable");
          this.reconnect(attempt + 1);
        },
      );
    }, delay);
  }

  private attach(stream: NodeJS.ReadableStream): void {
    this.detach();
    this.stream = stream;
    const splitter = new EventLineSplitter(
      (obj) => this.onRawEvent(obj),
      (reason) => this.log.warn({ reason }, "bad line in the Docker event stream"),
    );
    stream.on("data", (chunk: Buffer) => splitter.push(chunk));
    const lost = (why: string) => {
      if (this.stream !== stream) return;
      this.detach();
      this.setConnected(false);
      this.log.warn({ reason: why }, "lost the Docker event stream; reconnecting");
      this.reconnect(0);
    };
    stream.on("end", () => lost("stream ended"));
    stream.on("close", () => lost("stream closed"));
    stream.on("error", (err: Error) => lost(err.message));
  }

  private detach(): void {
    const s = this.stream;
    this.stream = null;
    if (s) {
      s.removeAllListeners();
      s.on("error", () => {}); // late errors of a dropped stream are expected
      (s as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    }
  }

  private setConnected(value: boolean): void {
    if (this.connected === value) return;
    this.connected = value;
    this.emit("status", value);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task).catch((err: unknown) => {
      this.log.warn({ err: String(err) }, "inventory update failed");
    });
    this.queue = next;
    return next;
  }

  private onRawEvent(raw: unknown): void {
    const ev = parseDockerEvent(raw, Date.now());
    if (ev === null) {
      this.log.warn("unreadable Docker event ignored");
      return;
    }
    this.emit("dockerEvent", ev.type);
    void this.enqueue(() => this.apply(ev));
  }

  private async apply(ev: DockerEvent): Promise<void> {
    if (ev.type === "container") {
      switch (ev.action) {
        case "start":
        case "rename":
        case "unpause":
          await this.refreshContainer(ev.actorId, ev.atMs);
          return;
        case "die":
          this.inventory.stopped(ev.actorId, ev.atMs);
          this.emit("changed");
          return;
        case "destroy":
          this.inventory.remove(ev.actorId, ev.atMs);
          this.emit("changed");
          return;
        default:
          return;
      }
    }
    if (ev.type === "network") {
      if (ev.action === "create" || ev.action === "destroy") {
        await this.refreshNetworks();
        this.emit("changed");
      } else if (ev.action === "connect" || ev.action === "disconnect") {
        if (!this.bridges.has(ev.actorId)) await this.refreshNetworks();
        const id = ev.attributes.container;
        if (id) await this.refreshContainer(id, ev.atMs);
      }
    }
  }

  private async refreshNetworks(): Promise<void> {
    const list: unknown = await this.docker.listNetworks();
    const map = new Map<string, string | null>();
    if (Array.isArray(list)) {
      for (const raw of list) {
        const parsed = networkInspectSchema.safeParse(raw);
        if (parsed.success) map.set(parsed.data.Id, bridgeInterfaceOf(parsed.data));
      }
    }
    this.bridges = map;
  }

  private async refreshContainer(id: string, atMs: number): Promise<void> {
    if (!CONTAINER_ID.test(id)) return;
    if (this.applyContainer(id, await this.fetchContainer(id), atMs)) this.emit("changed");
  }

  /**
   * What Docker says of one container now: its record, "gone" (it answered 404), or null when the
   * answer cannot be read (logged). Other errors are thrown.
   */
  private async fetchContainer(id: string): Promise<ContainerInfo | "gone" | null> {
    let raw: unknown;
    try {
      raw = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return "gone";
      throw err;
    }
    const parsed = parseContainerInspect(raw, this.bridges);
    if (!parsed.ok) {
      this.log.warn(
        { container: id, error: parsed.error },
        "Docker returned a container we cannot read; ignored",
      );
      return null;
    }
    for (const w of parsed.warnings) this.log.warn({ container: parsed.value.ref.name }, w);
    const imageLabels = await this.labelsOfImage(parsed.value.imageId);
    return { ...parsed.value, imageLabels };
  }

  /** Puts a fetched container into the inventory; true when the inventory changed. */
  private applyContainer(id: string, info: ContainerInfo | "gone" | null, atMs: number): boolean {
    if (info === null) return false;
    if (info === "gone") this.inventory.remove(id, atMs);
    else this.inventory.upsert(info, atMs);
    return true;
  }

  private async labelsOfImage(imageId: string): Promise<Record<string, string> | null> {
    if (imageId === "") return null;
    const cached = this.imageLabels.get(imageId);
    if (cached !== undefined) return cached;
    let labels: Record<string, string> | null = null;
    try {
      labels = imageLabelsOf(await this.docker.getImage(imageId).inspect())?.labels ?? null;
    } catch (err) {
      this.log.debug({ image: imageId, err: String(err) }, "image inspect failed; its labels are unknown");
    }
    if (this.imageLabels.size > 10_000) this.imageLabels.clear();
    this.imageLabels.set(imageId, labels);
    return labels;
  }

  /** Full sync: what Docker runs now replaces what we knew; containers gone meanwhile are stopped. */
  private async resync(atMs: number): Promise<void> {
    await this.refreshNetworks();
    const list = await this.docker.listContainers();
    // Inspected a few at a time (one by one, 50 containers kept the daemon from ready for half a
    // second), applied in Docker's order, and one "changed" for the whole sync.
    const ids = list.map(containerIdOf).filter((id): id is string => id !== null);
    const seen = new Set(ids);
    // A container Docker cannot answer for (a 500 while it is removed, a reset socket) costs only
    // itself: the others are applied, and the first error is still reported.
    const errors: unknown[] = [];
    const fetched = await mapLimit(ids, RESYNC_CONCURRENCY, (id) =>
      this.fetchContainer(id).catch((error: unknown) => {
        errors.push(error);
        return null;
      }),
    );
    for (let i = 0; i < ids.length; i++) this.applyContainer(ids[i]!, fetched[i] ?? null, atMs);
    for (const c of this.inventory.running()) {
      if (!seen.has(c.ref.id)) this.inventory.stopped(c.ref.id, atMs);
    }
    this.emit("changed");
    if (errors.length > 0) throw errors[0];
  }
}
