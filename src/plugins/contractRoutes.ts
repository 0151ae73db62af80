// The contract's routes (src/http/contractRoutes.ts), registered as fastify-openapi-glue
// registers them: in a context of their own, each with the handler and hooks that
// `routeOptions` gives for its operation.
import type { RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { ContractRoute } from '../http/contractRoutes.js';

export type OperationRouteOptions = Pick<RouteOptions, 'handler' | 'onRequest' | 'preValidation'>;

export default fp(async function contractRoutes(app, { routes, routeOptions }: { routes: ContractRoute[]; routeOptions: (route: ContractRoute) => OperationRouteOptions }) {
  await app.register(async (scope) => {
    for (const route of routes) scope.route({ method: route.method, url: route.url, schema: route.schema, ...routeOptions(route) });
  });
}, { name: 'contractRoutes' });
