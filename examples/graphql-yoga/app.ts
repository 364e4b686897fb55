/**
 * A GraphQL Yoga server: `createYoga` returns an object with a `fetch` method, served as it
 * is. Queries go to `/graphql` (GET or POST). `fetch-cgi build examples/graphql-yoga/app.ts`
 * makes it a CGI script.
 */
import { createSchema, createYoga } from 'graphql-yoga';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      hello(name: String): String!
    }
    type Mutation {
      add(a: Int!, b: Int!): Int!
    }
  `,
  resolvers: {
    Query: { hello: (_: unknown, { name }: { name?: string | null }) => `Hello, ${name ?? 'world'}!` },
    Mutation: { add: (_: unknown, { a, b }: { a: number; b: number }) => a + b },
  },
});

export default createYoga({ schema, graphiql: false, landingPage: false });
