// A real mosquitto for tests, set up by THE product's broker set-up (src/mqtt/broker-setup.ts,
// what `lfr broker setup` and install.sh run) and started on free loopback ports in a temp dir
// (src/tools/broker.ts). stop()/start() keep the ports, so a test can take the broker away and
// bring it back. Two officer accounts by default: `tablet` (PC1001) and a colleague (PC1002).
import path from 'node:path';
import { LocalBroker, MOSQUITTO, type Account } from '../../src/tools/broker.js';
import { freePort } from '../../src/util/net.js';

export { freePort, MOSQUITTO };
export type BrokerUser = Account;

export class TestMosquitto extends LocalBroker {
  constructor(readonly prefix = 'lfr', officers: string[] = ['PC1001', 'PC1002']) {
    super({ officers, topicPrefix: prefix });
  }

  /** The first officer account (what the tests used to call the tablet's account). */
  get tablet(): Account {
    return this.officers[0]!;
  }

  /** The daemon's password file (config mqtt.passwordFile). */
  get daemonPasswordFile(): string {
    return path.join(this.dir, 'daemon.pass');
  }
}
