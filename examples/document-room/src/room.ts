// The seed's DocumentRoom. GET /doc/:id with Upgrade: websocket joins the room of document :id (?user=NAME).
// Messages are JSON: {type:"edit", op:{pos, insert?, delete?}} from clients; the room answers
// {type:"init", text, version, present}, then broadcasts {type:"edit", op, version, by} and
// {type:"presence", present}. GET /doc/:id returns the text and version.
import { DurableObject } from 'cloudflare:workers';


interface Op {
  pos: number;
  insert?: string;
  delete?: number;
}

export class DocumentRoom extends DurableObject {
  sessions = new Map<WebSocket, string>();

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get('upgrade') !== 'websocket') {
      return Response.json({
        text: (await this.ctx.storage.get<string>('text')) ?? '',
        version: (await this.ctx.storage.get<number>('version')) ?? 0,
      });
    }
    const user = url.searchParams.get('user') ?? 'anonymous';
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    this.sessions.set(server, user);
    server.send(
      JSON.stringify({
        type: 'init',
        text: (await this.ctx.storage.get<string>('text')) ?? '',
        version: (await this.ctx.storage.get<number>('version')) ?? 0,
        present: this.present(),
      }),
    );
    this.broadcast({ type: 'presence', present: this.present() });
    server.addEventListener('message', (e) => this.onMessage(server, String(e.data)));
    const leave = () => {
      if (this.sessions.delete(server)) this.broadcast({ type: 'presence', present: this.present() });
    };
    server.addEventListener('close', leave);
    server.addEventListener('error', leave);
    return new Response(null, { status: 101, webSocket: client });
  }

  present(): string[] {
    return [...new Set(this.sessions.values())].sort();
  }

  async onMessage(ws: WebSocket, data: string): Promise<void> {
    let msg: { type?: string; op?: Op };
    try {
      msg = JSON.parse(data);
    } catch {
      ws.send(JSON.stringify({ type: 'error', message: 'messages must be JSON' }));
      return;
    }
    if (msg.type !== 'edit' || !msg.op || typeof msg.op.pos !== 'number') {
      ws.send(JSON.stringify({ type: 'error', message: 'expected {type:"edit", op:{pos, insert?, delete?}}' }));
      return;
    }
    // One object, one thread: edits apply in the order they arrive, with no lost update.
    const text = (await this.ctx.storage.get<string>('text')) ?? '';
    const { pos, insert = '', delete: del = 0 } = msg.op;
    const at = Math.max(0, Math.min(pos, text.length));
    const next = text.slice(0, at) + insert + text.slice(at + del);
    const version = ((await this.ctx.storage.get<number>('version')) ?? 0) + 1;
    this.ctx.storage.put({ text: next, version });
    // The output gate holds these messages until the edit is on disk.
    this.broadcast({ type: 'edit', op: msg.op, version, by: this.sessions.get(ws) });
  }

  broadcast(message: unknown): void {
    const data = JSON.stringify(message);
    for (const ws of this.sessions.keys()) {
      try {
        ws.send(data);
      } catch {
        this.sessions.delete(ws);
      }
    }
  }
}

