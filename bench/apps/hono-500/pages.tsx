import type { Hono } from 'hono';
import { Layout, RecordList, RecordView } from './components.js';

/**
 * Registers the home page and, for each of `sectionCount` sections, `/rN/:id` (one record) and
 * `/rN` (a list), as a large app's router would: 2 × `sectionCount` + 1 routes.
 */
export function registerPages(app: Hono, sectionCount: number): void {
  const lastSection = sectionCount - 1;
  app.get('/', (c) =>
    c.html(
      <Layout title="Home" lastSection={lastSection}>
        <p>{sectionCount} sections</p>
      </Layout>,
    ),
  );
  for (let section = 0; section < sectionCount; section++) {
    app.get(`/r${section}/:id`, (c) => {
      const id = c.req.param('id');
      const fields: Array<[string, string]> = [
        ['section', String(section)],
        ['id', id],
        ['query', c.req.query('q') ?? ''],
        ['user agent', c.req.header('user-agent') ?? ''],
      ];
      return c.html(
        <Layout title={`Record ${id}`} lastSection={lastSection}>
          <RecordView section={section} id={id} fields={fields} />
        </Layout>,
      );
    });
    app.get(`/r${section}`, (c) =>
      c.html(
        <Layout title={`Section ${section}`} lastSection={lastSection}>
          <RecordList section={section} ids={[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]} />
        </Layout>,
      ),
    );
  }
}
