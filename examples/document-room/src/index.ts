// Serves the seed's DocumentRoom (room.ts): /doc/:id joins a document's room.
import { DocumentRoom } from './room';

export { DocumentRoom };

interface Env {
  ROOMS: DurableObjectNamespace<DocumentRoom>;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const m = /^\/doc\/([\w-]{1,64})$/.exec(url.pathname);
    if (!m) return new Response('try /doc/<id> (a WebSocket with ?user=NAME, or GET for the text)', { status: 404 });
    return env.ROOMS.getByName(m[1]).fetch(request);
  },
};
