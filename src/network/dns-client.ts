/** Test and diagnostics support: one DNS query over UDP, with an EDNS Client Subnet when given. */
import dgram from 'node:dgram';
import dnsPacket, { type Packet } from 'dns-packet';

export function dnsQuery(
  port: number,
  question: { type: 'A' | 'AAAA'; name: string },
  ecs?: string,
  host = '127.0.0.1',
): Promise<Packet> {
  const packet: Packet = {
    type: 'query',
    id: Math.floor(Math.random() * 65535),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [question],
    ...(ecs
      ? {
          additionals: [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: 4096,
              options: [{ code: 8, ip: ecs, sourcePrefixLength: 24 }],
            } as never,
          ],
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no DNS answer from ${host}:${port}`));
    }, 5000);
    s.once('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.once('error', reject);
    s.send(dnsPacket.encode(packet), port, host);
  });
}
