// Compile-time checks (run by `npm run typecheck`, part of `npm test`): a handler typed from
// the contract cannot answer a status or a body shape that openapi.yaml does not allow. Each
// expected-error directive below must stay an error, or tsc fails on the unused directive.
import type { OperationHandler, OperationHandlers } from '../../src/http/contract.js';

export const wrongBodyShape: OperationHandler<'getUser'> = async (_request, reply) =>
  // @ts-expect-error acsUserIdentity is required, `id` is not in the contract
  reply.code(200).send({ id: '8:acs:x', createdAt: '2026-01-01T00:00:00Z' });

export const undocumentedStatus: OperationHandler<'getUser'> = async (_request, reply) =>
  // @ts-expect-error getUser documents no 201
  reply.code(201).send({ acsUserIdentity: '8:acs:x', createdAt: '2026-01-01T00:00:00Z' });

export const wrongFieldType: OperationHandler<'getToken'> = async (_request, reply) =>
  // @ts-expect-error expiresOn is a string (ISO 8601), not a Date
  reply.code(200).send({ token: 't', expiresOn: new Date(), user: { communicationUserId: '8:acs:x' } });

export const unknownQuery: OperationHandler<'getToken'> = async (request) => {
  // @ts-expect-error the contract has no `lifetime` query parameter
  return request.query.lifetime; // eslint-disable-line @typescript-eslint/no-unsafe-return -- a type error on purpose, expected above
};

export const rightShape: OperationHandler<'getUser'> = async (_request, reply) =>
  reply.code(200).send({ acsUserIdentity: '8:acs:x', createdAt: '2026-01-01T00:00:00Z' });

// @ts-expect-error every operation of the contract needs a handler
export const missingHandler: OperationHandlers = { getUser: rightShape };
