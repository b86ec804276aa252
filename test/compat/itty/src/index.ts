import { AutoRouter, error } from 'itty-router';
import Mustache from 'mustache';
import { z } from 'zod';

const Todo = z.object({
  title: z.string().min(1).max(100),
  done: z.boolean().default(false),
  tags: z.array(z.string()).max(5).optional(),
});

const todos: z.infer<typeof Todo>[] = [];
const page =
  '<ul>{{#todos}}<li>{{title}}{{#done}} ✓{{/done}}</li>{{/todos}}</ul><p>{{count}} items for {{name}}</p>';

const router = AutoRouter();

router
  .get('/todos', () => todos)
  .post('/todos', async (request) => {
    const parsed = Todo.safeParse(await request.json());
    if (!parsed.success)
      return error(422, { issues: parsed.error.issues.map((i) => ({ path: i.path, code: i.code })) });
    todos.push(parsed.data);
    return parsed.data;
  })
  .get('/todos/:index', ({ params }) => todos[Number(params.index)] ?? error(404, 'no such todo'))
  .get(
    '/page',
    ({ query }) =>
      new Response(Mustache.render(page, { todos, count: todos.length, name: query.name ?? 'nobody' }), {
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
  );

export default router;
