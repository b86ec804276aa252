// A local OTLP/HTTP receiver for the tracing bench (bench/platform.ts): reads each export and
// acknowledges it, as a collector's cheapest part would; reports the bytes it read on SIGUSR2
// exit. In its own process, since the bench's own event loop is blocked while wrk runs.
import { createServer } from 'node:http';

let bytes = 0;
const server = createServer(async (req, res) => {
  for await (const c of req) bytes += (c as Buffer).length;
  res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as { port: number }).port });
});
process.on('message', (m) => {
  if (m === 'bytes') process.send?.({ bytes });
});
process.on('SIGINT', () => process.exit(0));
