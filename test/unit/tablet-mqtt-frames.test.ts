// The page server's MQTT proxy counts an officer's PUBLISH packets from the fixed header alone
// (src/tablet/mqtt-frames.ts): packets of every size and protocol version, split across WebSocket
// messages at every byte, or several in one message, are counted exactly once.
import test from 'ava';
import mqttPacket from 'mqtt-packet';
import { PublishCounter } from '../../src/tablet/mqtt-frames.js';

const gen = (p: object, protocolVersion: 4 | 5) => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion });

function stream(protocolVersion: 4 | 5): { bytes: Buffer; publishes: number } {
  const parts = [
    gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: 'PC1001', username: 'PC1001', password: Buffer.from('pw'), keepalive: 30, clean: true }, protocolVersion),
    gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'lfr/van/alerts/+', qos: 1 }] }, protocolVersion),
    gen({ cmd: 'publish', topic: 'lfr/van/adjudications/PC1001/abc', payload: Buffer.alloc(10, 0x41), qos: 1, messageId: 2, retain: false, dup: false }, protocolVersion),
    gen({ cmd: 'pingreq' }, protocolVersion),
    // 200 B, 20 KB and 3 MB bodies: remaining lengths of 2, 3 and 4 bytes.
    gen({ cmd: 'publish', topic: 't', payload: Buffer.alloc(200, 0x42), qos: 0, retain: false, dup: false }, protocolVersion),
    gen({ cmd: 'publish', topic: 't', payload: Buffer.alloc(20_000, 0x43), qos: 1, messageId: 3, retain: false, dup: false }, protocolVersion),
    gen({ cmd: 'puback', messageId: 9 }, protocolVersion),
    gen({ cmd: 'publish', topic: 't', payload: Buffer.alloc(3_000_000, 0x30), qos: 0, retain: false, dup: false }, protocolVersion),
  ];
  return { bytes: Buffer.concat(parts), publishes: 4 };
}

for (const v of [4, 5] as const) {
  test(`MQTT ${v === 5 ? '5' : '3.1.1'}: PUBLISH packets counted once, whole or split at any byte`, (t) => {
    const { bytes, publishes } = stream(v);
    t.is(new PublishCounter().feed(bytes), publishes, 'in one message');
    let split = 0;
    const c = new PublishCounter();
    for (let i = 0; i < bytes.length; i += 997) split += c.feed(bytes.subarray(i, i + 997));
    t.is(split, publishes, 'in 997-byte pieces');
    const small = bytes.subarray(0, 400);
    const c1 = new PublishCounter();
    let one = 0;
    for (let i = 0; i < small.length; i++) one += c1.feed(small.subarray(i, i + 1));
    t.is(one, new PublishCounter().feed(small), 'byte by byte');
  });
}

test('a remaining length longer than 4 bytes is malformed', (t) => {
  t.throws(() => new PublishCounter().feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), { message: /malformed/ });
});
