import { Injectable, Logger } from '@nestjs/common';
import { KarafkaAdmin } from '../admin/karafka-admin.js';
import { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';
import { RouteTable } from '../routing/route-table.js';

/** Where one consumer group of the app stands on one partition, as the broker has it. */
export interface ConsumerLagFigure {
  /** Names as they are on the cluster (prefixed). */
  groupId: string;
  topic: string;
  partition: number;
  /** Next offset the group reads; -1 when it committed nothing. */
  committed: number;
  highWatermark: number;
  /** Messages produced and not committed by the group. */
  lag: number;
  /**
   * While messages wait (lag > 0): how old the last message this process finished is, in
   * seconds; 0 when the group is caught up; absent when this process processed nothing there.
   */
  timeLagSeconds?: number;
}

/** Figures read within this window are shared: a scrape and an export at once cost one read. */
const REUSE_MS = 1_000;

/**
 * The lag of every consumer group and topic the app routes, read from the broker (committed
 * offsets against high watermarks, as kafka-exporter reads them): it holds for a stopped group
 * too. The time lag comes from what this process consumed.
 */
@Injectable()
export class ConsumerLag {
  private readonly logger = new Logger('KarafkaMetrics');
  private readonly lastTimestamps = new Map<string, number>();
  private tracking?: () => void;
  private sinks = 0;
  private last?: { at: number; figures: Promise<ConsumerLagFigure[]>; settled: boolean };
  private failing = false;

  constructor(
    private readonly admin: KarafkaAdmin,
    private readonly routes: RouteTable,
    private readonly monitor: KarafkaMonitor,
  ) {}

  /** Notes consumed timestamps while at least one metrics sink wants figures; returns what ends its interest. */
  track(): () => void {
    this.tracking ??= this.monitor.subscribe('consumer.consumed', (event) => {
      if (event.lastTimestamp !== undefined)
        this.lastTimestamps.set(key(event.groupId, event.topic, event.partition), event.lastTimestamp);
    });
    this.sinks++;
    return () => {
      if (--this.sinks > 0) return;
      this.tracking?.();
      this.tracking = undefined;
    };
  }

  /** The figures, or none when the broker cannot be asked (logged once until it answers again). */
  read(): Promise<ConsumerLagFigure[]> {
    const now = Date.now();
    // A read still in flight is shared too: a broker that does not answer gets one question at a time.
    if (this.last && (!this.last.settled || now - this.last.at < REUSE_MS)) return this.last.figures;
    const last = { at: now, settled: false, figures: Promise.resolve<ConsumerLagFigure[]>([]) };
    last.figures = this.load(now)
      .then(
        (read) => {
          this.failing = false;
          return read;
        },
        (error: Error) => {
          if (!this.failing) this.logger.warn(`consumer lag is not available: ${error.message}`);
          this.failing = true;
          return [];
        },
      )
      .finally(() => (last.settled = true));
    this.last = last;
    return last.figures;
  }

  private async load(now: number): Promise<ConsumerLagFigure[]> {
    const groups = this.routes.consumerGroups.map((group) => ({
      groupId: group.id,
      topics: [...new Set(group.subscriptionGroups.flatMap((sg) => sg.routes.map((route) => route.topic)))],
    }));
    const lags = await Promise.all(
      groups.map(async ({ groupId, topics }) =>
        (await this.admin.clusterGroupLag(groupId, topics)).map((lag): ConsumerLagFigure => {
          const last = this.lastTimestamps.get(key(groupId, lag.topic, lag.partition));
          return {
            groupId,
            ...lag,
            timeLagSeconds: last === undefined ? undefined : lag.lag > 0 ? Math.max(0, now - last) / 1000 : 0,
          };
        }),
      ),
    );
    return lags.flat();
  }
}

function key(groupId: string, topic: string, partition: number): string {
  return `${groupId}\u0000${topic}\u0000${partition}`;
}
