// The real mosquitto of the tests is the project's local broker (src/tools/broker.ts): set up by
// THE product's broker set-up (src/mqtt/broker-setup.ts, what `lfr broker setup` and install.sh
// run) on free loopback ports in a temp dir; two officer accounts, `tablet` (PC1001) and PC1002.
import { LocalBroker, type LocalBrokerOptions } from '../../src/tools/broker.js';

export { MOSQUITTO, type BrokerUser, type Account } from '../../src/tools/broker.js';
export { freePort } from '../../src/util/net.js';

export class TestMosquitto extends LocalBroker {
  constructor(prefix: string | LocalBrokerOptions = 'lfr') {
    super(typeof prefix === 'string' ? { topicPrefix: prefix } : { topicPrefix: 'lfr', ...prefix });
  }
}
