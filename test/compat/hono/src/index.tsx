/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { compress } from 'hono/compress';
import { contextStorage, getContext } from 'hono/context-storage';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import { html } from 'hono/html';
import { HTTPException } from 'hono/http-exception';
import { jsxRenderer } from 'hono/jsx-renderer';
import { jwt, sign } from 'hono/jwt';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { stream, streamSSE, streamText } from 'hono/streaming';
import { timing } from 'hono/timing';

type Env = { Bindings: { JWT_SECRET: string }; Variables: { who: string } };

const app = new Hono<Env>();

app.use(contextStorage());
app.use(timing());
app.use(requestId());
app.use(
  '/api/*',
  cors({ origin: ['https://app.example'], allowMethods: ['GET', 'POST'], credentials: true }),
);
app.use('/api/*', secureHeaders());
app.use('/static/*', etag());

app.get('/', (c) => c.text('hello hono'));
app.get('/api/users/:id{[0-9]+}', (c) =>
  c.json({ id: Number(c.req.param('id')), q: c.req.query('q') ?? null }),
);
app.post('/api/echo', async (c) => c.json({ got: await c.req.json(), ct: c.req.header('content-type') }));
app.get('/static/file', (c) => c.text('static content that gets an etag'));

app.use('/admin/*', basicAuth({ username: 'admin', password: 'pa55' }));
app.get('/admin/panel', (c) => c.text('admin only'));

app.get('/token', async (c) => {
  const token = await sign(
    { sub: 'user-1', role: 'editor', exp: Math.floor(Date.now() / 1000) + 60 },
    c.env.JWT_SECRET,
  );
  return c.json({ token });
});
app.use('/private/*', (c, next) => jwt({ secret: c.env.JWT_SECRET, alg: 'HS256' })(c, next));
app.get('/private/me', (c) => {
  const payload = c.get('jwtPayload') as { sub: string; role: string };
  return c.json({ sub: payload.sub, role: payload.role });
});

app.get('/stream', (c) =>
  streamText(c, async (s) => {
    for (let i = 0; i < 5; i++) {
      await s.writeln(`line ${i}`);
      await s.sleep(20);
    }
  }),
);
app.get('/bytes', (c) =>
  stream(c, async (s) => {
    await s.write(new Uint8Array([1, 2, 3]));
    await s.write('tail');
  }),
);
app.get('/sse', (c) =>
  streamSSE(c, async (s) => {
    for (let i = 0; i < 3; i++) await s.writeSSE({ event: 'tick', data: String(i), id: String(i) });
  }),
);

app.use('/compressed/*', compress());
app.get('/compressed/big', (c) => c.text('compress me '.repeat(500)));

app.get('/ctx', (c) => {
  c.set('who', 'storage');
  return c.json({ who: whoFromStorage() });
});
function whoFromStorage(): string {
  return getContext<Env>().var.who;
}

app.get('/html', (c) => c.html(html`<p>${'<escaped>'}</p>`));
app.use(
  '/page/*',
  jsxRenderer(({ children }) => (
    <html lang="en">
      <body>{children}</body>
    </html>
  )),
);
app.get('/page/hello', (c) => c.render(<h1>Hello JSX</h1>));

app.get('/boom', () => {
  throw new HTTPException(418, { message: 'teapot' });
});
app.notFound((c) => c.json({ error: 'not found', path: c.req.path }, 404));
app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  return c.text(`error: ${err.message}`, 500);
});

export default app;
