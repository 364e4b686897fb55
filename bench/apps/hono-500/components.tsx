import type { Child } from 'hono/jsx';

/** The page frame every route renders into; `lastSection` is the app's highest section number. */
export function Layout(props: { title: string; lastSection: number; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{props.title}</title>
      </head>
      <body>
        <header>
          <nav>
            <a href="/">Home</a> <a href="/r0/1">First</a> <a href={`/r${props.lastSection}/1`}>Last</a>
          </nav>
        </header>
        <main>{props.children}</main>
        <footer>Served as CGI</footer>
      </body>
    </html>
  );
}

/** One record of a section, as a table of its fields. */
export function RecordView(props: { section: number; id: string; fields: ReadonlyArray<[string, string]> }) {
  return (
    <article>
      <h1>
        Section {props.section}, record {props.id}
      </h1>
      <table>
        <tbody>
          {props.fields.map(([name, value]) => (
            <tr>
              <th>{name}</th>
              <td>{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>
  );
}

/** The list of records a section page links to. */
export function RecordList(props: { section: number; ids: readonly number[] }) {
  return (
    <ul>
      {props.ids.map((id) => (
        <li>
          <a href={`/r${props.section}/${id}`}>Record {id}</a>
        </li>
      ))}
    </ul>
  );
}
