// THE composition root of HQ (`lfr hq run`, systemd/lfr-hq.service): the database (migrated at
// start), the MQTT subscriber (shared subscriptions; several instances share the load), the page.
// Started in that order, stopped in reverse, like the van's (src/daemon.ts). HQ imports van code
// (topics, envelope, report columns); the van never imports src/hq/.
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log.js';
import type { HqConfig } from './config.js';
import { migrate, openPool, type Pool } from './db.js';
import { HqStore } from './store.js';
import { HqSubscriber } from './subscriber.js';
import { HqWeb } from './web.js';

export class HqDaemon {
  readonly pool: Pool;
  readonly store: HqStore;
  readonly subscriber: HqSubscriber;
  readonly web: HqWeb;
  private started: Component[] = [];

  constructor(
    private readonly cfg: HqConfig,
    private readonly log: Logger,
  ) {
    this.pool = openPool(cfg.database.url, cfg.database.poolSize);
    this.store = new HqStore(this.pool);
    this.subscriber = new HqSubscriber(cfg, this.store, log.child({ module: 'hq-mqtt' }));
    this.web = new HqWeb(cfg, this.store, log.child({ module: 'hq-web' }));
  }

  async start(signal: AbortSignal): Promise<void> {
    const applied = await migrate(this.pool);
    if (applied.length) this.log.info({ applied }, 'database migrated');
    for (const c of [this.subscriber, this.web] as Component[]) {
      signal.throwIfAborted();
      await c.start(signal);
      this.started.push(c);
    }
    this.log.info({ web: this.web.port, instance: this.cfg.mqtt.instance }, 'hq running');
  }

  async stop(): Promise<void> {
    for (const c of [...this.started].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.log.error({ err, component: c.name }, 'stop failed');
      }
    }
    this.started = [];
    await this.pool.end().catch(() => undefined);
    this.log.info('hq stopped');
  }
}
