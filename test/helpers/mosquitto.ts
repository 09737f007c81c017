// The real mosquitto of the tests is the project's local broker (src/tools/broker.ts): the
// product's broker config, certificate and account scripts, on free loopback ports.
export { LocalBroker as TestMosquitto, MOSQUITTO, freePort, type BrokerUser } from '../../src/tools/broker.js';
