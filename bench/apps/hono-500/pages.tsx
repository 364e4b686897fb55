import type { Hono } from 'hono';
import { Layout, RecordList, RecordView } from './components.js';

/** How many sections; each registers a detail and a list route, as a large app's router would. */
export const SECTION_COUNT = 500;

/** Registers the home page and, per section, `/rN/:id` (one record) and `/rN` (a list). */
export function registerPages(app: Hono): void {
  app.get('/', (c) =>
    c.html(
      <Layout title="Home">
        <p>{SECTION_COUNT} sections</p>
      </Layout>,
    ),
  );
  for (let section = 0; section < SECTION_COUNT; section++) {
    app.get(`/r${section}/:id`, (c) => {
      const id = c.req.param('id');
      const fields: Array<[string, string]> = [
        ['section', String(section)],
        ['id', id],
        ['query', c.req.query('q') ?? ''],
        ['user agent', c.req.header('user-agent') ?? ''],
      ];
      return c.html(
        <Layout title={`Record ${id}`}>
          <RecordView section={section} id={id} fields={fields} />
        </Layout>,
      );
    });
    app.get(`/r${section}`, (c) =>
      c.html(
        <Layout title={`Section ${section}`}>
          <RecordList section={section} ids={[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]} />
        </Layout>,
      ),
    );
  }
}
